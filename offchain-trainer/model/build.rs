//! With the `mkl` feature, a build that cannot find MKL stops here with what to do. Without
//! this, candle's `intel-mkl-src` looks in `MKLROOT`, pkg-config and `/opt/intel`, then tries to
//! download MKL from ghcr.io, ignores that download's failure, and the link fails later with
//! hundreds of undefined `mkl_*` symbols.

use std::path::Path;

/// What `intel-mkl-src` links for candle's configuration (static, LP64, Intel OpenMP).
const NEEDED: [&str; 5] =
	["libmkl_core.a", "libmkl_intel_lp64.a", "libmkl_intel_thread.a", "mkl.h", "libiomp5"];

fn main() {
	if std::env::var_os("CARGO_FEATURE_MKL").is_none() {
		return;
	}
	println!("cargo:rerun-if-env-changed=MKLROOT");
	match std::env::var_os("MKLROOT") {
		Some(root) => {
			let root = Path::new(&root);
			let mut missing: Vec<&str> = NEEDED.to_vec();
			find(root, &mut missing, 0);
			if !missing.is_empty() {
				fail(&format!("MKLROOT={} has no {}", root.display(), missing.join(", ")));
			}
		},
		// A system installation: intel-mkl-src finds it there itself.
		None if Path::new("/opt/intel").is_dir() => {},
		None => fail("MKLROOT is not set and there is no /opt/intel"),
	}
}

/// Removes from `missing` every name found under `dir` (file names, `libiomp5` by prefix).
fn find(dir: &Path, missing: &mut Vec<&str>, depth: usize) {
	let Ok(entries) = std::fs::read_dir(dir) else { return };
	for entry in entries.flatten() {
		let path = entry.path();
		if path.is_dir() && depth < 8 {
			find(&path, missing, depth + 1);
		} else if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
			missing.retain(|m| !(name == *m || (m.starts_with("libiomp5") && name.starts_with(m))));
		}
	}
}

fn fail(why: &str) -> ! {
	eprintln!(
		"error: the `mkl` feature needs Intel's oneMKL: {why}.\n\
		 Fetch it from PyPI (pinned) and build with it:\n\
		 \tMKLROOT=$(bash scripts/fetch-mkl.sh) cargo build --features offchain-trainer/mkl ...\n\
		 (intel-mkl-src keeps the result of a run that found no MKL and does not look again when\n\
		 MKLROOT changes: after such a build, `cargo clean -p intel-mkl-src` once.)"
	);
	std::process::exit(1);
}
