//! Where the workspace and its built binaries are.

use anyhow::{Context, bail};
use std::path::PathBuf;

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
	let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
	manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Path of the workspace binary `name`, built in the same profile as the running test.
///
/// `TESSERA_BIN_DIR` overrides the directory. Binaries must be built first
/// (`cargo build --workspace --bins`, which the README's test command does).
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
	let dir = match std::env::var_os("TESSERA_BIN_DIR") {
		Some(dir) => PathBuf::from(dir),
		None => {
			// Test executables live in <target>/<profile>/deps/.
			let exe = std::env::current_exe().context("locating the test executable")?;
			exe.parent()
				.and_then(|deps| deps.parent())
				.map(PathBuf::from)
				.context("the test executable has no <profile> directory above it")?
		},
	};
	let path = dir.join(name);
	if !path.is_file() {
		bail!(
			"{} not found: build it first with `cargo build --workspace --bins` \
			 (or point TESSERA_BIN_DIR at the directory holding it)",
			path.display()
		);
	}
	Ok(path)
}

/// A test's working directory: removed afterwards, unless `TESSERA_KEEP_TEST_DIRS` is set (then
/// its path is printed and it stays, for reading the peers' logs and reports).
pub struct TestDir {
	path: PathBuf,
	_tmp: Option<tempfile::TempDir>,
}

impl TestDir {
	/// A fresh directory.
	pub fn new() -> anyhow::Result<Self> {
		let tmp = tempfile::Builder::new().prefix("tessera-test-").tempdir()?;
		if std::env::var_os("TESSERA_KEEP_TEST_DIRS").is_some() {
			let path = tmp.into_path();
			eprintln!("test directory kept: {}", path.display());
			return Ok(Self { path, _tmp: None });
		}
		Ok(Self { path: tmp.path().to_path_buf(), _tmp: Some(tmp) })
	}

	/// Its path.
	pub fn path(&self) -> &std::path::Path {
		&self.path
	}
}
