#!/usr/bin/env bash
# Install everything the test suite needs, then run it (lint, types, tests).
# Usage: scripts/test.sh [pytest args...]      Needs root (or sudo) for the apt packages.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
missing=()
# chromium: the study viewer's browser test drives Debian's build (playwright downloads no browser).
# podman, runc, debootstrap, podman-compose: tests/container builds the image on a Debian base and runs it.
for pkg in orthanc orthanc-dicomweb dcmtk redis-server chromium podman runc debootstrap podman-compose; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Node.js may come from elsewhere than Debian (with npm bundled): ask only for what is absent.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Podman as these machines allow it: runc (crun fails on their cgroups), cgroupfs (no systemd), and
# no default rlimits (setting them is refused). A drop-in: containers.conf itself is left alone.
podman_conf=/etc/containers/containers.conf.d/dicom-mcp-test.conf
podman_settings=$'[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"'
if [ "$(cat "$podman_conf" 2>/dev/null)" != "$podman_settings" ]; then
  "${sudo_cmd[@]}" mkdir -p "$(dirname "$podman_conf")"
  printf '%s\n' "$podman_settings" | "${sudo_cmd[@]}" tee "$podman_conf" >/dev/null
fi
# The Debian packages start their daemons where an init system runs; the tests start their own.
for svc in orthanc redis-server; do
  if command -v service >/dev/null && service "$svc" status >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

# The independent TypeScript client, for interoperability tests (no lock file is kept).
(cd tests/interop && npm install --silent --no-audit --no-fund --no-package-lock >/dev/null)

.venv/bin/ruff check
.venv/bin/ruff format --check
.venv/bin/mypy
# The architecture (pyproject.toml, [tool.importlinter]): layers point down, pynetdicom stays in dimse/.
.venv/bin/lint-imports

# pytest exits 5 when it collected nothing: that must fail too, and it does under `set -e`.
.venv/bin/python -m pytest "$@"
