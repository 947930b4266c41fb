#!/usr/bin/env bash
# Shared by scripts/fetch-py-client.sh and scripts/fetch-torch.sh: makes sure the virtual
# environment VENV holds exactly what REQUIREMENTS pins, then checks it with `python -c CHECK`.
# Installs python3's venv module from Debian when missing. A second run with the same
# requirements does nothing (a stamp file records their SHA-256). Messages go to standard error,
# prefixed with NAME.
#
#   bash scripts/pinned-venv.sh NAME VENV REQUIREMENTS CHECK
set -euo pipefail

name=$1 venv=$2 requirements=$3 check=$4

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
	SUDO=""
	if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
	echo "$name: apt-get install python3-venv" >&2
	$SUDO apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >&2
fi

stamp=$venv/.tessera-requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
	exit 0
fi
echo "$name: pip install -r ${requirements#"$(pwd)/"} into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
"$venv/bin/python" -c "$check" >&2
echo "$want" > "$stamp"
