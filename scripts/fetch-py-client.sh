#!/usr/bin/env bash
# Installs the Python client the docs' Python examples use (substrate-interface and every
# dependency at the versions tests/py/requirements.txt pins) into a virtual environment at
# ${TESSERA_PY_CLIENT:-$HOME/.cache/tessera/py-client}, so the end-to-end tests can run the docs'
# Python against a dev node. Installs python3's venv module from Debian when missing. A second
# run with the same requirements does nothing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
requirements=$root/tests/py/requirements.txt
venv=${TESSERA_PY_CLIENT:-$HOME/.cache/tessera/py-client}

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
	SUDO=""
	if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
	echo "fetch-py-client: apt-get install python3-venv" >&2
	$SUDO apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >&2
fi

stamp=$venv/.tessera-requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
	exit 0
fi
echo "fetch-py-client: pip install -r tests/py/requirements.txt into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
"$venv/bin/python" -c 'import substrateinterface' >&2
echo "$want" > "$stamp"
