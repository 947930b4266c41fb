//! The training corpus for end-to-end tests: built once per machine by the real
//! `offchain-trainer corpus` command from the pinned source archive (which
//! `scripts/fetch-corpus.sh` downloads; `.ci/run` runs it), then reused.

use anyhow::{Context, bail};
use std::{path::PathBuf, process::Command};

/// Directory of a built corpus (4096-token vocabulary), building it first if needed.
pub fn corpus() -> anyhow::Result<PathBuf> {
	let cache = match std::env::var_os("TESSERA_CACHE_DIR") {
		Some(dir) => PathBuf::from(dir),
		None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?)
			.join(".cache/tessera"),
	};
	let out = cache.join("corpus-4096");
	if out.join("corpus.json").is_file() && tessera_data::TokenShard::open(&out).is_ok() {
		return Ok(out);
	}
	let source = cache.join("sources").join(tessera_data::corpus::SOURCE_NAME);
	if !source.is_file() {
		bail!(
			"{} is missing: run `bash scripts/fetch-corpus.sh` first (the README's test command does)",
			source.display()
		);
	}
	// Build next to the final place and rename, so concurrent tests never see half a corpus.
	let tmp = tempfile::Builder::new().prefix(".corpus-").tempdir_in(&cache)?;
	let status = Command::new(crate::binary("offchain-trainer")?)
		.args(["corpus", "--vocab", "4096", "--source"])
		.arg(&source)
		.arg("--out")
		.arg(tmp.path())
		.status()
		.context("running offchain-trainer corpus")?;
	if !status.success() {
		bail!("offchain-trainer corpus failed: {status}");
	}
	let built = tmp.into_path();
	if std::fs::rename(&built, &out).is_err() {
		// Another test built it first; ours is redundant.
		let _ = std::fs::remove_dir_all(&built);
	}
	Ok(out)
}
