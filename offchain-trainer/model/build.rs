//! With the `mkl` feature, a build that cannot find MKL stops here with what to do. Without
//! this, candle's `intel-mkl-src` looks in `MKLROOT`, pkg-config and `/opt/intel`, then tries to
//! download MKL from ghcr.io, ignores that download's failure, and the link fails later with
//! hundreds of undefined `mkl_*` symbols.

use std::path::Path;

fn main() {
	println!("cargo:rerun-if-env-changed=MKLROOT");
	if std::env::var_os("CARGO_FEATURE_MKL").is_none() {
		return;
	}
	match std::env::var_os("MKLROOT") {
		Some(root) if Path::new(&root).is_dir() => {},
		Some(root) => fail(&format!("MKLROOT={} is not a directory", root.to_string_lossy())),
		None if Path::new("/opt/intel").is_dir() => {},
		None => fail("MKLROOT is not set and there is no /opt/intel"),
	}
}

fn fail(why: &str) -> ! {
	eprintln!(
		"error: the `mkl` feature needs Intel's oneMKL: {why}.\n\
		 Fetch it from PyPI (pinned) and build with it:\n\
		 \tMKLROOT=$(bash scripts/fetch-mkl.sh) cargo build --features mkl ..."
	);
	std::process::exit(1);
}
