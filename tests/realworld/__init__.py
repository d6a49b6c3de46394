"""Files no one here wrote: the vendor and toolkit images pydicom and pydicom-data ship on PyPI."""
