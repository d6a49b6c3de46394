"""Pixel data for the sample data set: simple phantoms drawn from ellipses, computed, never stored.

Each function returns one frame as a numpy array, the same on every run: the only texture
(ultrasound speckle) comes from an integer hash, not from a random generator whose stream
could change between numpy releases.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

CT_SIZE: Final = 256
CT_SPACING: Final = 1.4  # mm per pixel
MR_SIZE: Final = 256
XRAY_SHAPE: Final = (400, 340)
US_SHAPE: Final = (240, 320)

Grid = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]


def _grid(rows: int, columns: int) -> Grid:
    r, c = np.mgrid[0:rows, 0:columns]
    return r.astype(np.float64), c.astype(np.float64)


def _ellipse(grid: Grid, centre: tuple[float, float], axes: tuple[float, float]) -> npt.NDArray[np.bool_]:
    """The pixels inside an ellipse; centre and semi-axes as (row, column)."""
    r, c = grid
    return ((r - centre[0]) / axes[0]) ** 2 + ((c - centre[1]) / axes[1]) ** 2 <= 1


def chest_ct(index: int, count: int, nodule_mm: float) -> npt.NDArray[np.int16]:
    """An axial chest slice in Hounsfield units, apex (index 0) to base; the nodule sits mid-stack.

    Anterior is up and the patient's right on the image's left, as radiologists look at it.
    """
    grid = _grid(CT_SIZE, CT_SIZE)
    t = index / max(count - 1, 1)
    swell = math.sin(math.pi * (0.15 + 0.7 * t))
    hu = np.full((CT_SIZE, CT_SIZE), -1000, np.int16)
    hu[_ellipse(grid, (128, 128), (84, 112))] = -100  # subcutaneous fat
    hu[_ellipse(grid, (128, 128), (78, 106))] = 40  # muscle and soft tissue
    for angle in np.linspace(0, 2 * math.pi, 18, endpoint=False):  # ribs, in the chest wall
        centre = (128 + 70 * math.sin(angle), 128 + 97 * math.cos(angle))
        if centre[0] < 180:
            hu[_ellipse(grid, centre, (4, 5))] = 800
    for column in (80, 176):
        hu[_ellipse(grid, (122, column), (44 + 12 * swell, 22 + 10 * swell))] = -850
    hu[_ellipse(grid, (102, 128), (8, 8))] = 50  # ascending aorta
    hu[_ellipse(grid, (160, 144), (9, 9))] = 50  # descending aorta
    if t > 0.35:
        size = 12 + 40 * (t - 0.35)
        hu[_ellipse(grid, (118, 140), (size, size * 1.2))] = 45  # heart
    hu[_ellipse(grid, (186, 128), (15, 15))] = 700  # vertebral body
    hu[_ellipse(grid, (186, 128), (10, 10))] = 250
    hu[(grid[0] >= 216) & (grid[0] < 220) & (grid[1] > 40) & (grid[1] < 216)] = 150  # the table
    if nodule_mm and index == count // 2:
        radius = nodule_mm / 2 / CT_SPACING
        hu[_ellipse(grid, (100, 76), (radius, radius))] = 30
    return hu


def head_ct(index: int, count: int) -> npt.NDArray[np.int16]:
    """An axial head slice in Hounsfield units: scalp, skull, brain, ventricles."""
    grid = _grid(CT_SIZE, CT_SIZE)
    shrink = 1 - 0.25 * (index / max(count - 1, 1))
    hu = np.full((CT_SIZE, CT_SIZE), -1000, np.int16)
    hu[_ellipse(grid, (128, 128), (104 * shrink, 86 * shrink))] = 30
    hu[_ellipse(grid, (128, 128), (100 * shrink, 82 * shrink))] = 1000
    hu[_ellipse(grid, (128, 128), (93 * shrink, 75 * shrink))] = 35
    for column in (114, 142):
        hu[_ellipse(grid, (122, column), (22 * shrink, 7 * shrink))] = 5
    return hu


# Signal of each tissue on T1- and T2-weighted images (12-bit).
_MR_SIGNAL: Final = {
    "T1": {"fat": 1400, "skull": 80, "csf": 250, "grey": 700, "white": 1000},
    "T2": {"fat": 900, "skull": 60, "csf": 1900, "grey": 1100, "white": 800},
}


def brain_mr(index: int, count: int, weighting: str) -> npt.NDArray[np.uint16]:
    """An axial brain slice, T1 or T2 weighted, with a gentle coil shading from front to back."""
    signal = _MR_SIGNAL[weighting]
    grid = _grid(MR_SIZE, MR_SIZE)
    shrink = 1 - 0.3 * (index / max(count - 1, 1))
    image = np.zeros((MR_SIZE, MR_SIZE), np.float64)
    image[_ellipse(grid, (128, 128), (106 * shrink, 88 * shrink))] = signal["fat"]
    image[_ellipse(grid, (128, 128), (100 * shrink, 82 * shrink))] = signal["skull"]
    image[_ellipse(grid, (128, 128), (94 * shrink, 76 * shrink))] = signal["csf"]
    image[_ellipse(grid, (128, 128), (90 * shrink, 72 * shrink))] = signal["grey"]
    image[_ellipse(grid, (128, 128), (74 * shrink, 58 * shrink))] = signal["white"]
    for column in (114, 142):
        image[_ellipse(grid, (122, column), (22 * shrink, 7 * shrink))] = signal["csf"]
    image *= 1.1 - 0.2 * grid[0] / MR_SIZE
    return image.astype(np.uint16)


def chest_xray(view: str) -> npt.NDArray[np.uint16]:
    """A chest radiograph (12-bit, bright is dense), "PA" or "LAT"."""
    rows, columns = XRAY_SHAPE
    grid = _grid(rows, columns)
    image = np.full(XRAY_SHAPE, 60.0)
    if view == "PA":
        image[_ellipse(grid, (230, 170), (210, 150))] = 1500
        lungs = _ellipse(grid, (190, 110), (140, 55)) | _ellipse(grid, (190, 230), (140, 55))
        image[lungs] = 500 + 2.0 * grid[0][lungs]
        for row in range(90, 330, 26):  # ribs, sloping down from the spine
            image[(np.abs(grid[0] - row - 0.002 * (grid[1] - 170) ** 2) < 4) & lungs] += 450
        image[_ellipse(grid, (250, 178), (80, 45))] = 2000  # heart
        image[(np.abs(grid[1] - 170) < 12) & (grid[0] > 40)] = 2500  # spine
    else:
        image[_ellipse(grid, (230, 170), (210, 120))] = 1500
        lung = _ellipse(grid, (190, 160), (140, 80))
        image[lung] = 550 + 2.0 * grid[0][lung]
        image[_ellipse(grid, (260, 140), (70, 55))] = 1900  # heart
        image[(np.abs(grid[1] - 265) < 14) & (grid[0] > 40)] = 2500  # spine, at the back
    clipped: npt.NDArray[np.uint16] = np.clip(image, 0, 4095).astype(np.uint16)
    return clipped


def liver_us(frame: int, frames: int, seed: int) -> npt.NDArray[np.uint8]:
    """A liver ultrasound frame (8-bit) in a sector, with speckle; breathing moves it along the cine."""
    rows, columns = US_SHAPE
    grid = _grid(rows, columns)
    r, c = grid
    shift = 8 * math.sin(2 * math.pi * frame / max(frames, 1))
    depth = np.hypot(r, c - columns / 2)
    angle = np.arctan2(c - columns / 2, r)
    sector = (depth < 230) & (np.abs(angle) < math.radians(40))
    echo = np.full(US_SHAPE, 70.0)
    echo[_ellipse(grid, (150 + shift, 150), (80, 120))] = 115  # liver
    echo[_ellipse(grid, (140 + shift, 190), (14, 14))] = 8  # a simple cyst
    echo[np.abs(depth - (205 + shift)) < 3] = 230  # the diaphragm
    speckle = _hash_noise(rows, columns, seed + frame) / 255.0
    image = echo * (0.55 + 0.9 * speckle) * (1 - depth / 600)
    image[~sector] = 0
    return np.clip(image, 0, 255).astype(np.uint8)


def _hash_noise(rows: int, columns: int, seed: int) -> npt.NDArray[np.float64]:
    r, c = np.mgrid[0:rows, 0:columns].astype(np.uint64)
    x = (r * np.uint64(73856093)) ^ (c * np.uint64(19349663)) ^ np.uint64(seed * 83492791)
    x = (x * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)
    noise: npt.NDArray[np.float64] = ((x >> np.uint64(12)) & np.uint64(0xFF)).astype(np.float64)
    return noise
