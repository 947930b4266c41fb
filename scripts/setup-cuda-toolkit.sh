#!/usr/bin/env bash
# Assembles a CUDA 13.2 toolkit for building candle's CUDA backend (`--features cuda`, see
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
set -euo pipefail

dir=${TESSERA_CACHE_DIR:-$HOME/.cache/tessera}/cuda
root=$dir/toolkit-13.2
base=https://files.pythonhosted.org/packages
wheels=(
	"38/7b/ad9b5f84e8820af24afa8db66b5b2785b9bdc3b8724dffcd5e6ef2d40e53/nvidia_cuda_nvcc-13.2.86-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl 7d3f56c8d705bad35bbba69eb0470d90856fd5d4dc48c6a6173aaf1e9f887cf5"
	"c7/1d/b50325516e259d4de9fca78b069840d39b6a172c5ba012b88d9985e01fa3/nvidia_nvvm-13.2.86-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl a9244f3209922d655612c11ebb4117ea1f80983cb2b215c9cccded127282cebc"
	"65/9f/404307a23ffd26ef2e3661bf79ffed0e3ea245a42cb6b74c5e4d1bb93ab2/nvidia_cuda_crt-13.2.86-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl e3ab08801bf9b1e6dc979275d25e816bb5000521b648e19c324d5eef0c79f1da"
	"70/c6/8f8c5e893d183082ea78f973aebc7ebc845ee219d68bddac73b0f62490fe/nvidia_cuda_runtime-13.2.86-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl 3498247680dfddce31bad102af7e3e26fc795342a3cac64722bb0fa95e7f60f0"
	"ae/a4/d4eb1467bc07dd9d3d4291abf7cfd7c353eb522ca1ef7951b0aacb4f932c/nvidia_cuda_cccl-13.2.86-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl 35da671cf0cecd3539da214a11bb8e7634366c9e950da9c5feecf6c490a65b20"
	"1e/39/c58835ec8392a91b8d7bad83760eafc3085f64788b722ec2b44a27b3ca3e/nvidia_cuda_nvrtc-13.2.86-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl 8111c5130e967b78222ea2124145f8efe9ce201b752b2579a2513100a53be1c5"
	"12/63/636e5dc9afb2959bfc0042a357d5567358df829b66c96d9fc36d77dc0596/nvidia_curand-10.4.5.25-py3-none-manylinux_2_27_x86_64.whl 22bb226a857e5888fe6b54ae465fc4371296bcff13a35f79e19691bcf454f529"
	"e1/97/d483a41da34df5c88727c57319576967f6d7befba5028d70928d2999635e/nvidia_cublas-13.4.1.3-py3-none-manylinux_2_27_x86_64.whl a5917cb642cfb07f4a0231ee16aec7e2e0357d8cb8b1b78a0c9c68dba3e6afc7"
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
