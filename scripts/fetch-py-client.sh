#!/usr/bin/env bash
# Installs the Python client the docs' Python examples use (substrate-interface and every
# dependency at the versions tests/py/requirements.txt pins) into a virtual environment at
# ${TESSERA_PY_CLIENT:-$HOME/.cache/tessera/py-client}, so the end-to-end tests can run the docs'
# Python against a dev node. Installs python3's venv module from Debian when missing. A second
# run with the same requirements does nothing (scripts/pinned-venv.sh).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/pinned-venv.sh" fetch-py-client \
	"${TESSERA_PY_CLIENT:-$HOME/.cache/tessera/py-client}" \
	"$root/tests/py/requirements.txt" 'import substrateinterface'
