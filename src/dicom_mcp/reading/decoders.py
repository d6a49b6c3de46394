"""GDCM as the last pixel-data decoder: after pylibjpeg, pyjpegls and Pillow, never before them.

pydicom tries the plugins of a transfer syntax in the order they were added, and adds GDCM's
first. Installed as it comes, python-gdcm would decode every JPEG, JPEG-LS and JPEG 2000 frame
the other decoders already render, and change their pictures. `put_gdcm_last` moves it behind
them at start-up (the sandbox worker's, and the tests'), through pydicom's public plugin calls,
so GDCM serves only the frames the others refuse, such as 12-bit JPEG Extended written with a
non-standard scan (libjpeg refuses it, and Pillow has no 12-bit JPEG).

pydicom's own GDCM plugin refuses 12-bit JPEG Extended outright; python-gdcm (3.0.10 and later)
decodes it exactly as DCMTK does, so this module's plugin decodes that case itself and hands
every other one to pydicom's.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Final, cast

from pydicom import uid
from pydicom.pixels.decoders import gdcm as pydicom_gdcm
from pydicom.pixels.decoders.base import DecodeRunner, get_decoder

LABEL: Final = "gdcm"
# The transfer syntaxes pydicom's GDCM plugin decodes (each needs gdcm >= 3.0.10).
DECODER_DEPENDENCIES: Final = pydicom_gdcm.DECODER_DEPENDENCIES


def put_gdcm_last() -> None:
    """Make GDCM the last plugin tried for each syntax it decodes (idempotent)."""
    for syntax in DECODER_DEPENDENCIES:
        decoder = get_decoder(syntax)
        with suppress(ValueError):  # no GDCM plugin to move (a pydicom that no longer adds it)
            decoder.remove_plugin(LABEL)
        decoder.add_plugin(LABEL, (__name__, "decode_frame"))


def is_available(syntax: str) -> bool:
    """Whether python-gdcm is installed, recent enough, and decodes `syntax` (pydicom's plugin contract)."""
    return pydicom_gdcm.is_available(syntax)


def decode_frame(src: bytes, runner: DecodeRunner) -> bytes:
    """One frame decoded by GDCM (pydicom's plugin contract: raise when it cannot)."""
    if runner.transfer_syntax == uid.JPEGExtended12Bit and runner.bits_stored > 8:
        return _jpeg_extended_12_bit(src, runner)
    return pydicom_gdcm._decode_frame(src, runner)


def _jpeg_extended_12_bit(src: bytes, runner: DecodeRunner) -> bytes:
    """A 12-bit JPEG Extended frame: one fragment handed to a GDCM image of the frame's size."""
    import gdcm  # noqa: PLC0415 - reached only once `is_available` found python-gdcm installed

    if runner.samples_per_pixel != 1:
        raise NotImplementedError("12-bit JPEG Extended is decoded by GDCM for one sample per pixel")
    fragment = gdcm.Fragment()
    fragment.SetByteStringValue(src)
    fragments = gdcm.SequenceOfFragments.New()
    fragments.AddFragment(fragment)
    element = gdcm.DataElement(gdcm.Tag(0x7FE0, 0x0010))
    element.SetValue(fragments.__ref__())
    image = gdcm.Image()
    image.SetNumberOfDimensions(2)
    image.SetDimensions((runner.columns, runner.rows, 1))
    image.SetDataElement(element)
    photometric = gdcm.PhotometricInterpretation.GetPIType(runner.photometric_interpretation)
    image.SetPhotometricInterpretation(gdcm.PhotometricInterpretation(photometric))
    image.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.GetTSType(str(uid.JPEGExtended12Bit))))
    bits = runner.bits_stored
    image.SetPixelFormat(gdcm.PixelFormat(1, 16, bits, bits - 1, runner.pixel_representation))
    runner.set_option("bits_allocated", 16)
    buffer = image.GetBuffer()
    if buffer is None:
        raise RuntimeError("GDCM could not decode the 12-bit JPEG Extended frame")
    # python-gdcm returns the buffer as str; surrogateescape gives back its bytes unchanged
    frame = cast(str, buffer).encode("utf-8", "surrogateescape")
    if len(frame) != runner.rows * runner.columns * 2:
        raise RuntimeError("GDCM decoded a 12-bit JPEG Extended frame of the wrong size")
    return frame
