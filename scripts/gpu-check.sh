#!/usr/bin/env bash
# Runs on a GPU machine, from a checkout with the bundle of scripts/gpu-bundle.sh in .gpu/: the
# codec's GPU tests (outer step bit-identical to the CPU, same top-k, exact error feedback, bad
# input refused) and the model's (a GPU miner's update formed from its trained parameters on the
# device matches the CPU's; the outer step on the model bit-identical), then `offchain-trainer
# bench --device cuda` beside the PyTorch reference on the same GPU for the small model and a
# 1B-parameter one, then the GPU's copy bandwidth (what
# "compress GB/s ≥ 50% of HBM" is read against). Nothing is downloaded: the CUDA libraries are
# those of the machine's PyTorch (its nvidia-* wheels), the driver is the machine's.
#
#   bash scripts/gpu-check.sh         # logs under $OUT (default ./gpu-out), one file per step
#
# Each step has its own time limit (seconds; together 8.5 minutes, so one device call of 10
# holds them all) and a failed step does not stop the next; the exit status is that of the GPU
# tests.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=${OUT:-gpu-out}
python=${TESSERA_PYTHON:-python3}
mkdir -p "$out"
[ -f .gpu/offchain-trainer.xz ] || { echo "gpu-check: no .gpu/ bundle: run scripts/gpu-bundle.sh and carry .gpu" >&2; exit 2; }
bin=$(mktemp -d)
for name in offchain-trainer codec-tests model-tests; do
	xz -dc ".gpu/$name.xz" >"$bin/$name" && chmod +x "$bin/$name"
done

# The CUDA libraries of the machine's PyTorch (its nvidia-* wheels), then the driver's folder.
libs=$("$python" -c 'import site; print("\n".join(site.getsitepackages()))' 2>/dev/null \
	| while read -r dir; do find "$dir/nvidia" -name 'lib*.so*' -printf '%h\n' 2>/dev/null; done \
	| sort -u | paste -sd: -)
for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
	[ -d "$dir" ] && libs=${libs:+$libs:}$dir
done
export LD_LIBRARY_PATH=${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export TESSERA_CUDA_PTX=$PWD/.gpu/kernels.ptx
export RUST_BACKTRACE=1

step() {
	local file=$1 limit=$2
	shift 2
	echo "== $* (limit ${limit}s)" >"$out/$file"
	local start=$SECONDS
	timeout "$limit" "$@" >>"$out/$file" 2>&1
	local rc=$?
	echo "== rc=$rc after $((SECONDS - start)) s" >>"$out/$file"
	echo "gpu-check: $file rc=$rc ($((SECONDS - start)) s)"
	return $rc
}

{
	echo "bundle commit: $(cat .gpu/commit 2>/dev/null)"
	nvidia-smi
	"$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
	echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
	ldd "$bin/offchain-trainer" | grep -E 'cuda|cublas|curand|nvrtc|not found'
} >"$out/00-machine.txt" 2>&1

step 01-codec-gpu-tests.txt 60 "$bin/codec-tests" --include-ignored cuda::
tests=$?
step 01-model-gpu-tests.txt 60 "$bin/model-tests" --include-ignored codec_device::
tests=$((tests | $?))
step 02-bench-small.txt 120 "$bin/offchain-trainer" bench --device cuda --model small --runs 5 \
	--python "$python" --reference-script bench/reference/templar_reference.py
step 03-bench-1b.txt 240 "$bin/offchain-trainer" bench --device cuda --model bench/models/1b.toml \
	--runs 3 --python "$python" --reference-script bench/reference/templar_reference.py
step 04-hbm-copy.txt 30 "$python" -c '
import torch
x = torch.empty(2**31, dtype=torch.uint8, device="cuda")
y = torch.empty_like(x)
for _ in range(3):
    y.copy_(x)
torch.cuda.synchronize()
start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
start.record()
for _ in range(10):
    y.copy_(x)
end.record()
torch.cuda.synchronize()
s = start.elapsed_time(end) / 1e3 / 10
print(f"device-to-device copy: {2 * x.numel() / s / 1e9:.0f} GB/s (bytes read + written)")
'
exit $tests
