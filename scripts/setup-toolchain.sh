#!/usr/bin/env bash
# Installs what building tessera needs on a Debian machine and prints the environment the build
# must use (`eval "$(scripts/setup-toolchain.sh)"`). Idempotent: fast when everything is present.
#
# The runtime compiles to wasm. substrate-wasm-builder needs a toolchain that can build for
# `wasm32v1-none`. Where rustup has that target (a normal developer machine) nothing is done.
# Otherwise (machines that cannot download rustup components) we follow DESIGN.md §7: Debian's
# rustc-web (Rust 1.96 with std sources), linked into rustup as the toolchain `tessera-wasm`, with
# core/alloc/compiler_builtins prebuilt for wasm32v1-none (with bitcode, for the runtime's LTO).
set -euo pipefail

log() { echo "setup-toolchain: $*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

APT_UPDATED=0
apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$APT_UPDATED" = 0 ]; then
		log "apt-get update"
		$SUDO apt-get update -qq >&2
		APT_UPDATED=1
	fi
	log "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
}

# Native build dependencies (protoc for litep2p, clang for bindgen users), curl for the corpus
# source (scripts/fetch-corpus.sh) and curl + unzip for NVRTC (scripts/fetch-nvrtc.sh).
command -v protoc >/dev/null && command -v clang >/dev/null && command -v curl >/dev/null \
	&& command -v unzip >/dev/null \
	|| apt_install protobuf-compiler clang curl ca-certificates unzip

WASM_RUSTFLAGS="-C link-arg=--allow-undefined"

# 1. A rustup toolchain that already has the wasm target: nothing to do.
if rustup target list --installed 2>/dev/null | grep -qx 'wasm32v1-none'; then
	log "wasm32v1-none is installed in the default toolchain"
	exit 0
fi

# 2. Debian's rustc-web with a prebuilt wasm32v1-none core, linked as `tessera-wasm`.
TOOLCHAIN=tessera-wasm
apt_install rustc-web cargo-web rust-web-src lld-22
PREFIX=/usr
SYSROOT="$("$PREFIX/bin/rustc" --print sysroot)"
if ! rustup toolchain list | grep -q "^$TOOLCHAIN"; then
	log "rustup toolchain link $TOOLCHAIN $PREFIX"
	rustup toolchain link "$TOOLCHAIN" "$PREFIX" >&2
fi

LIBDIR="$SYSROOT/lib/rustlib/wasm32v1-none/lib"
STAMP="$LIBDIR/.tessera-stamp"
VERSION="$("$PREFIX/bin/rustc" --version)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$VERSION" ]; then
	log "building core/alloc for wasm32v1-none with $VERSION"
	WORK="$(mktemp -d)"
	trap 'rm -rf "$WORK"' EXIT
	mkdir -p "$WORK/src"
	cat > "$WORK/Cargo.toml" <<'TOML'
[package]
name = "wasm-sysroot"
version = "0.0.0"
edition = "2021"
[lib]
path = "src/lib.rs"
[profile.release]
panic = "abort"
TOML
	echo '#![no_std]' > "$WORK/src/lib.rs"
	(cd "$WORK" && RUSTC="$PREFIX/bin/rustc" RUSTC_BOOTSTRAP=1 RUSTFLAGS="-C embed-bitcode=yes" \
		"$PREFIX/bin/cargo" build --release -q --target wasm32v1-none \
		-Zbuild-std=core,alloc --target-dir "$WORK/target" >&2)
	$SUDO mkdir -p "$LIBDIR"
	for crate in core alloc compiler_builtins; do
		f="$(ls "$WORK"/target/wasm32v1-none/release/deps/lib${crate}-*.rlib | head -n1)"
		$SUDO cp "$f" "$LIBDIR/"
	done
	echo "$VERSION" | $SUDO tee "$STAMP" >/dev/null
	# Runtime crates built against an older sysroot fail with E0463: drop the wasm build cache.
	TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera/target}"
	rm -rf "$TARGET_DIR"/*/wbuild
fi

echo "export WASM_BUILD_TOOLCHAIN=$TOOLCHAIN"
echo "export WASM_BUILD_RUSTFLAGS=\"$WASM_RUSTFLAGS\""
