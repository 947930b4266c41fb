//! The chain specs under `chain-spec/` must match what the node builds from the runtime's
//! presets: the same JSON in every field, and genesis code whose embedded runtime version equals
//! the runtime's. (The code bytes themselves depend on the wasm toolchain, so they are compared
//! by the version they carry.) Regenerate with `scripts/export-chain-specs.sh`.

use anyhow::Context;
use serde_json::Value;
use std::process::Command;
use tessera_e2e::{binary, workspace_root};

fn exported(chain: &str) -> anyhow::Result<Value> {
	let out = Command::new(binary("tessera-node")?)
		.args(["export-chain-spec", "--chain", chain])
		.output()
		.context("running tessera-node export-chain-spec")?;
	anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	Ok(serde_json::from_slice(&out.stdout)?)
}

/// Removes and returns the genesis code blob.
fn take_code(spec: &mut Value) -> anyhow::Result<Vec<u8>> {
	let code = spec
		.pointer_mut("/genesis/runtimeGenesis/code")
		.context("spec has no genesis.runtimeGenesis.code")?
		.take();
	let hex = code.as_str().context("code is a string")?;
	Ok(hex::decode(hex.trim_start_matches("0x"))?)
}

/// The `runtime_version` custom section of a (possibly compressed) runtime blob.
fn embedded_version(code: &[u8]) -> anyhow::Result<Vec<u8>> {
	let wasm = sp_maybe_compressed_blob::decompress(code, 64 << 20)
		.map_err(|e| anyhow::anyhow!("code does not decompress: {e:?}"))?;
	anyhow::ensure!(wasm.starts_with(b"\0asm"), "code is not a wasm module");
	let mut pos = 8;
	while pos < wasm.len() {
		let id = wasm[pos];
		pos += 1;
		let (size, read) = leb128(&wasm[pos..]).context("bad section size")?;
		pos += read;
		let end = pos.checked_add(size).filter(|&e| e <= wasm.len()).context("section overruns")?;
		if id == 0 {
			let (name_len, read) = leb128(&wasm[pos..end]).context("bad custom section name")?;
			let name_start = pos + read;
			let name = wasm.get(name_start..name_start + name_len).context("name overruns")?;
			if name == b"runtime_version" {
				return Ok(wasm[name_start + name_len..end].to_vec());
			}
		}
		pos = end;
	}
	anyhow::bail!("no runtime_version section")
}

fn leb128(bytes: &[u8]) -> Option<(usize, usize)> {
	let mut value = 0usize;
	for (i, b) in bytes.iter().take(5).enumerate() {
		value |= usize::from(b & 0x7f) << (7 * i);
		if b & 0x80 == 0 {
			return Some((value, i + 1));
		}
	}
	None
}

fn check(chain: &str, file: &str) -> anyhow::Result<()> {
	let path = workspace_root().join("chain-spec").join(file);
	let mut checked_in: Value = serde_json::from_slice(
		&std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
	)?;
	let mut built = exported(chain)?;
	let checked_in_code = take_code(&mut checked_in)?;
	take_code(&mut built)?;
	assert_eq!(
		checked_in,
		built,
		"{} drifted from the runtime's preset: run scripts/export-chain-specs.sh",
		path.display()
	);
	// The section carries every version field but the API list (another section); how its
	// tail decodes depends on the Core API version, which we take from the built runtime.
	let built = tessera_runtime::VERSION;
	let core_id = <dyn sp_api::Core<tessera_runtime::Block> as sp_api::RuntimeApiInfo>::ID;
	let embedded = sp_version::RuntimeVersion::decode_with_version_hint(
		&mut &embedded_version(&checked_in_code)?[..],
		built.api_version(&core_id),
	)?;
	let fields = |v: &sp_version::RuntimeVersion| {
		(
			v.spec_name.to_string(),
			v.impl_name.to_string(),
			v.authoring_version,
			v.spec_version,
			v.impl_version,
			v.transaction_version,
			v.system_version,
		)
	};
	assert_eq!(
		fields(&embedded),
		fields(&built),
		"{} carries another runtime version: run scripts/export-chain-specs.sh",
		path.display()
	);
	Ok(())
}

#[test]
fn dev_chain_spec_is_current() -> anyhow::Result<()> {
	check("dev", "dev.json")
}

#[test]
fn local_testnet_chain_spec_is_current() -> anyhow::Result<()> {
	check("local", "local_testnet.json")
}
