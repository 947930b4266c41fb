#!/usr/bin/env bash
# Builds, on a machine without a GPU, what scripts/gpu-check.sh runs on a GPU machine that can
# download nothing and takes a few tens of MiB of files: the trainer built with `--features cuda`
# (CUDA 13.0 from scripts/setup-cuda-toolkit.sh), the codec's and the model's GPU tests, and the
# codec kernels' PTX compiled here (so the GPU machine needs no NVRTC). Everything lands in
# .gpu/ (ignored by git), compressed; carry that folder to the GPU machine and run
# scripts/gpu-check.sh there.
#
#   bash scripts/gpu-bundle.sh        # prints the bundle's files and size
#
# The build uses its own target directory (TESSERA_CUDA_TARGET_DIR, default
# ~/.cache/tessera/target-cuda) so it does not replace the CPU build's binaries.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

eval "$(bash scripts/setup-cuda-toolkit.sh)"
export CARGO_TARGET_DIR=${TESSERA_CUDA_TARGET_DIR:-$HOME/.cache/tessera/target-cuda}
limit_mib=${TESSERA_BUNDLE_LIMIT_MIB:-60}

cargo build --locked -p offchain-trainer --features cuda
# The codec's and the model's unit tests with their GPU tests (run there with --include-ignored).
test_binary() {
	cargo test --locked -p "$1" --features cuda --lib --no-run --message-format=json \
		| python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["profile"]["test"] and m.get("executable"):
        print(m["executable"])'
}
codec_tests=$(test_binary tessera-codec)
model_tests=$(test_binary tessera-model)
for built in "$codec_tests" "$model_tests"; do
	[ -n "$built" ] || { echo "gpu-bundle: a test binary was not built" >&2; exit 1; }
done

out=.gpu
rm -rf "$out"
mkdir -p "$out"
# The binary links libcuda.so.1: here the toolkit's stub stands in for the driver.
stub=$(mktemp -d)
trap 'rm -rf "$stub"' EXIT
ln -s "$CUDA_PATH/lib/stubs/libcuda.so" "$stub/libcuda.so.1"
LD_LIBRARY_PATH=$stub:$CUDA_PATH/lib "$CARGO_TARGET_DIR/debug/offchain-trainer" cuda-ptx \
	--out "$out/kernels.ptx"
for pair in "$CARGO_TARGET_DIR/debug/offchain-trainer:offchain-trainer" "$codec_tests:codec-tests" \
	"$model_tests:model-tests"; do
	src=${pair%%:*}
	name=${pair##*:}
	strip -o "$stub/$name" "$src"
	xz -T0 -6 -c "$stub/$name" >"$out/$name.xz"
done
git rev-parse HEAD >"$out/commit"
ls -l "$out" >&2
size=$(du -sm "$out" | cut -f1)
echo "gpu-bundle: $out is $size MiB (commit $(cat "$out/commit"))" >&2
if [ "$size" -gt "$limit_mib" ]; then
	echo "gpu-bundle: over the ${limit_mib} MiB a GPU machine takes" >&2
	exit 1
fi
