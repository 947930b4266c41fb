#!/usr/bin/env bash
# Installs PyTorch for the bench's reference (bench/reference/requirements.txt pins every package)
# into a virtual environment at ${TESSERA_TORCH_VENV:-$HOME/.cache/tessera/torch-venv} and prints
# its interpreter's path, for `offchain-trainer bench --python "$(bash scripts/fetch-torch.sh)"`.
# Installs python3's venv module from Debian when missing. A second run with the same requirements
# only prints the path. PyPI's Linux wheel of torch loads its CUDA libraries even on a CPU, so the
# environment takes about 5 GB (94 s to install on the 2-core VM).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
requirements=$root/bench/reference/requirements.txt
venv=${TESSERA_TORCH_VENV:-$HOME/.cache/tessera/torch-venv}

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
	SUDO=""
	if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
	echo "fetch-torch: apt-get install python3-venv" >&2
	$SUDO apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >&2
fi

stamp=$venv/.tessera-requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; }; then
	echo "fetch-torch: pip install -r bench/reference/requirements.txt into $venv" >&2
	rm -rf "$venv"
	python3 -m venv "$venv"
	"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
	"$venv/bin/python" -c 'import torch; torch.ones(1).sum()' >&2
	echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
