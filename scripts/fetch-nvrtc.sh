#!/usr/bin/env bash
# Fetches NVIDIA's NVRTC (the CUDA run-time compiler) from PyPI — the wheel
# nvidia-cuda-nvrtc-cu12 12.9.86, pinned by SHA-256 — and unpacks its libraries. Prints the
# directory that holds libnvrtc.so.12, for LD_LIBRARY_PATH. No CUDA toolkit, driver or GPU
# needed: the `cuda` feature's kernels are compiled with it at run time, and CI uses it to check
# that they compile.
#
#   export LD_LIBRARY_PATH=$(bash scripts/fetch-nvrtc.sh)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
set -euo pipefail

name=nvidia_cuda_nvrtc_cu12-12.9.86-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl
sha256=210cf05005a447e29214e9ce50851e83fc5f4358df8b453155d5e1918094dcb4
url=https://files.pythonhosted.org/packages/b8/85/e4af82cc9202023862090bfca4ea827d533329e925c758f0cde964cb54b7/$name
dir=${TESSERA_CACHE_DIR:-$HOME/.cache/tessera}/cuda
lib=$dir/nvrtc-12.9.86/nvidia/cuda_nvrtc/lib

if [ ! -f "$lib/libnvrtc.so.12" ]; then
	wheel=$dir/wheels/$name
	bash "$(dirname "${BASH_SOURCE[0]}")/fetch-pinned.sh" "$url" "$sha256" "$wheel" 600
	rm -rf "$dir/nvrtc-12.9.86"
	unzip -q -o "$wheel" 'nvidia/cuda_nvrtc/lib/*' -d "$dir/nvrtc-12.9.86" >&2
fi
echo "$lib"
