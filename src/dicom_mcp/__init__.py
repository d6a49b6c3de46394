"""dicom-mcp: query a PACS over DICOM from any MCP client."""

__version__ = "0.1.0"
