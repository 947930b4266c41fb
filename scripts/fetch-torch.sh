#!/usr/bin/env bash
# Installs PyTorch for the bench's reference (bench/reference/requirements.txt pins every package)
# into a virtual environment at ${TESSERA_TORCH_VENV:-$HOME/.cache/tessera/torch-venv} and prints
# its interpreter's path, for `offchain-trainer bench --python "$(bash scripts/fetch-torch.sh)"`.
# Installs python3's venv module from Debian when missing. A second run with the same requirements
# only prints the path (scripts/pinned-venv.sh). PyPI's Linux wheel of torch loads its CUDA
# libraries even on a CPU, so the environment takes about 5 GB (94 s to install on the 2-core VM).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${TESSERA_TORCH_VENV:-$HOME/.cache/tessera/torch-venv}
bash "$root/scripts/pinned-venv.sh" fetch-torch "$venv" \
	"$root/bench/reference/requirements.txt" 'import torch; torch.ones(1).sum()'
echo "$venv/bin/python"
