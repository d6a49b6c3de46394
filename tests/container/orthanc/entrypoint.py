"""Start Debian's Orthanc with its configuration read from ORTHANC__* variables.

As the Orthanc team's image reads them: ORTHANC__DICOM_AET=ORTHANC sets "DicomAet" to "ORTHANC",
and a value that parses as JSON (true, 4242, {"mcp": [...]}) is taken as that JSON. The rest are
that image's defaults: storage under /var/lib/orthanc/db, REST reachable from other hosts.
"""

from __future__ import annotations

import json
import os
import tempfile

DEFAULTS = {
    "Name": "orthanc",
    "StorageDirectory": "/var/lib/orthanc/db",
    "IndexDirectory": "/var/lib/orthanc/db",
    "RemoteAccessAllowed": True,
    "AuthenticationEnabled": True,
    "DicomPort": 4242,
    "HttpPort": 8042,
    "Plugins": [],
}


def setting(value: str) -> object:
    try:
        return json.loads(value)
    except ValueError:
        return value


def main() -> None:
    config = dict(DEFAULTS)
    for name, value in os.environ.items():
        if name.startswith("ORTHANC__"):
            key = "".join(word.capitalize() for word in name.removeprefix("ORTHANC__").split("_"))
            config[key] = setting(value)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(config, file)
    os.execv("/usr/sbin/Orthanc", ["Orthanc", file.name])


if __name__ == "__main__":
    main()
