#!/usr/bin/env bash
# Assembles a CUDA 13.0 toolkit for building candle's CUDA backend (`--features cuda`, see
# docs/gpu.md) from NVIDIA's PyPI wheels, each pinned by SHA-256: nvcc (+ cudafe++, ptxas, NVVM's
# cicc), the CRT, runtime and CCCL headers, and NVRTC, cuBLAS and cuRAND for linking. (The CUDA 12
# wheels of nvcc hold only ptxas; CUDA 13's are complete.) No GPU or driver is
# needed to build: `libcuda.so` (the driver) is replaced at link time by a stub generated from
# the driver API that cudarc binds (the CUDA toolkit ships the same kind of stub); at run time
# the GPU machine's driver provides the real one.
#
#   eval "$(bash scripts/setup-cuda-toolkit.sh)"   # exports CUDA_PATH, PATH, CUDA_COMPUTE_CAP
#   cargo build -p offchain-trainer --features cuda
#
# CUDA_COMPUTE_CAP defaults to 90 (H100/H200); set it for other GPUs.
#
# Why 13.0 and not newer: candle's kernels are embedded as PTX, which the driver compiles when it
# loads them, and a driver only reads PTX up to its own CUDA version (a 13.2 nvcc writes PTX 9.2,
# which a CUDA 13.0 driver — the 580 series — refuses with CUDA_ERROR_UNSUPPORTED_PTX_VERSION).
# Built with 13.0, the binary runs on every driver of the 580 series and later.
set -euo pipefail

dir=${TESSERA_CACHE_DIR:-$HOME/.cache/tessera}/cuda
root=$dir/toolkit-13.0
base=https://files.pythonhosted.org/packages
wheels=(
	"71/8b/a546c12881fffeba927d810598987df25d74b8b241788c7db8dfc93b0173/nvidia_cuda_nvcc-13.0.88-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl 56fe502eb77625a12f25172caa3cdddb4e4c8ba2c8c17dba44b164761b380f03"
	"15/b0/ee41e6d1108d959b5097163e7190c2d0f7857dea75606ce358f0275891b4/nvidia_nvvm-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl c5f41ffeb6466944a026dfa5317d7d85355c119bbec279205d22f1869d1054e0"
	"05/69/a1ec4d9f0747d85964206feb47bf359f48a2d6af74c0add8abba6efe3dda/nvidia_cuda_crt-13.0.88-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl 2c8043c7c9e02492716426e9919fc78d2c5b3b2a7a768a88e952676b08aa55a4"
	"2e/24/d1558f3b68b1d26e706813b1d10aa1d785e4698c425af8db8edc3dced472/nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl 7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548"
	"ab/fb/0384bb2129bed6b1b39f8e44471c615ab5ab29b7e55817538a1d390d8f84/nvidia_cuda_cccl-13.0.85-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl e0da7ad981f3a8aff08241b5bfc1af868742a63e2762f53a5171c492ef242649"
	"c3/68/483a78f5e8f31b08fb1bb671559968c0ca3a065ac7acabfc7cee55214fd6/nvidia_cuda_nvrtc-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl ad9b6d2ead2435f11cbb6868809d2adeeee302e9bb94bcf0539c7a40d80e8575"
	"a5/9f/be0a41ca4a4917abf5cb9ae0daff1a6060cc5de950aec0396de9f3b52bc5/nvidia_curand-10.4.0.35-py3-none-manylinux_2_27_x86_64.whl 1aee33a5da6e1db083fe2b90082def8915f30f3248d5896bcec36a579d941bfc"
	"5a/99/210e113dde53955e97042bd76dc4ad927eca04c5b4645ec157cc59f4f3ae/nvidia_cublas-13.0.0.19-py3-none-manylinux_2_27_x86_64.whl f6723af2e8e2600a11dc384037d90d9bf93070e346c24ef2e8f9001658c99896"
)

if [ ! -f "$root/.complete" ]; then
	mkdir -p "$dir/wheels"
	rm -rf "$root" "$dir/unpacked"
	for entry in "${wheels[@]}"; do
		read -r path sha256 <<<"$entry"
		name=$(basename "$path")
		file=$dir/wheels/$name
		echo "setup-cuda-toolkit: $name" >&2
		bash "$(dirname "${BASH_SOURCE[0]}")/fetch-pinned.sh" "$base/$path" "$sha256" "$file" 1200
		unzip -q -o "$file" 'nvidia/*' -d "$dir/unpacked" >&2
	done
	# One tree: bin/ (nvcc, ptxas), nvvm/, include/ (all headers), lib/ (+ lib64 → lib).
	mkdir -p "$root"
	cp -a "$dir"/unpacked/nvidia/cu13/. "$root"/
	rm -rf "$dir/unpacked"
	ln -sfn lib "$root/lib64"
	# Unversioned names for the linker (libcublas.so → libcublas.so.12, …).
	for lib in "$root"/lib/lib*.so.*; do
		stem=$(basename "$lib" | sed -E 's/\.so\..*$/.so/')
		[ -e "$root/lib/$stem" ] || ln -s "$(basename "$lib")" "$root/lib/$stem"
	done
	# The driver stub: every driver API function cudarc can call, as an empty symbol.
	sys=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -path '*/cudarc-0.19.10/src/driver/sys/mod.rs' | head -n 1)
	[ -n "$sys" ] || { echo "setup-cuda-toolkit: cudarc 0.19.10's sources are not in the cargo registry; run 'cargo fetch' first" >&2; exit 1; }
	mkdir -p "$root/lib/stubs"
	grep -oE 'pub unsafe fn cu[A-Za-z0-9_]+' "$sys" | sed 's/pub unsafe fn //' | sort -u \
		| sed 's/.*/void &(void) {}/' >"$root/lib/stubs/libcuda-stub.c"
	cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$root/lib/stubs/libcuda.so" "$root/lib/stubs/libcuda-stub.c"
	chmod +x "$root"/bin/* "$root"/nvvm/bin/* 2>/dev/null || true
	touch "$root/.complete"
fi
echo "export CUDA_PATH=$root"
echo "export PATH=$root/bin:\$PATH"
echo "export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}"
