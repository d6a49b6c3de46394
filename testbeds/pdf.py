"""The PDFs of the test data set: the sample data set's generator (`dicom_mcp.demo.data.pdf`).

Test expectations never come from it: they come from the text each test writes into its PDF.
"""

from __future__ import annotations

from dicom_mcp.demo.data.pdf import make_pdf

__all__ = ["make_pdf"]
