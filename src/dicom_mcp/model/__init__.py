"""The DICOM core both protocols share: levels, matching keys and queries, presets, validation,
JSON-safe values, SOP classes, targets, retrieval keys and retrieved instances as bytes.

No adapter, no HTTP, no MCP (an import-linter contract keeps it so): DIMSE encoding lives in
`dimse/`, DICOMweb's in `dicomweb/`.
"""
