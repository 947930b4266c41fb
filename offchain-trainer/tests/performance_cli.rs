//! `offchain-trainer bench` and `offchain-trainer simulate` as a user runs them: the binary,
//! its table, its exit status. The figures themselves are recorded in docs/PERFORMANCE.md; here
//! every row must be present with a measured value, and bad settings must be refused.

// Helpers of the tests below: a failure in them is the test failing.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn trainer(args: &[&str]) -> (bool, String, String) {
	let out = Command::new(env!("CARGO_BIN_EXE_offchain-trainer")).args(args).output().unwrap();
	(
		out.status.success(),
		String::from_utf8_lossy(&out.stdout).into_owned(),
		String::from_utf8_lossy(&out.stderr).into_owned(),
	)
}

#[test]
fn bench_prints_every_figure_for_the_tiny_model() {
	let (ok, stdout, stderr) = trainer(&[
		"bench",
		"--model",
		"tiny",
		"--runs",
		"1",
		"--peers",
		"3",
		"--batch",
		"2",
		"--eval-sequences",
		"2",
		"--no-reference",
	]);
	assert!(ok, "{stderr}");
	for (row, unit) in [
		("compress + error feedback, 1 thread", "GB/s"),
		("payload bytes per 64×64 chunk", "B"),
		("decode + aggregate + apply, 3 peers", "s"),
		("inner step", "tok/s"),
		("  its largest matrix product", "GFLOP/s"),
		("Gauntlet, per payload", "s"),
	] {
		let line = stdout
			.lines()
			.find(|l| l.starts_with(row))
			.unwrap_or_else(|| panic!("no row {row:?} in\n{stdout}"));
		// The first number after the label is ours.
		let value: f64 = line[row.len()..]
			.split_whitespace()
			.find_map(|w| w.parse().ok())
			.unwrap_or_else(|| panic!("no figure in {line:?}"));
		assert!(value.is_finite() && value > 0.0, "{line}");
		assert!(line.contains(unit), "{line}");
	}
}

#[test]
fn bench_refuses_unknown_devices_and_models() {
	let (ok, _, stderr) =
		trainer(&["bench", "--model", "tiny", "--device", "tpu", "--no-reference"]);
	assert!(!ok);
	assert!(stderr.contains("unknown --device"), "{stderr}");
	let (ok, _, stderr) = trainer(&["bench", "--model", "huge", "--no-reference"]);
	assert!(!ok);
	assert!(stderr.contains("no model preset"), "{stderr}");
}

#[test]
fn simulate_shows_overlap_reaching_97_percent_for_72b() {
	let (ok, stdout, stderr) = trainer(&["simulate"]);
	assert!(ok, "{stderr}");
	let overlapped = stdout.lines().find(|l| l.starts_with("overlapped")).unwrap();
	let percent: f64 =
		overlapped.split_whitespace().last().unwrap().trim_end_matches('%').parse().unwrap();
	assert!(percent >= 97.0, "{stdout}");
	// First, the protocol's own machines on the simulated chain: every window committed by
	// every miner and scored, and a utilisation below the overlapped schedule's.
	assert!(stdout.contains("the protocol machines as they run"), "{stdout}");
	let rows: Vec<&str> =
		stdout.lines().filter(|l| l.ends_with(" yes") || l.ends_with(" no")).collect();
	assert_eq!(rows.len(), 6, "{stdout}");
	assert!(rows.iter().all(|r| r.contains("20/20") && r.ends_with("yes")), "{stdout}");
	let used: f64 = stdout
		.lines()
		.find_map(|l| l.strip_prefix("miner utilisation (time in inner steps): "))
		.unwrap()
		.trim_end_matches('%')
		.parse()
		.unwrap();
	assert!(used > 20.0 && used < percent, "{stdout}");
	let (ok, _, stderr) = trainer(&["simulate", "--reveal-blocks", "0"]);
	assert!(!ok);
	assert!(stderr.contains("reveal period of 0 blocks"), "{stderr}");
	let (ok, _, stderr) = trainer(&["simulate", "--peers", "1"]);
	assert!(!ok);
	assert!(stderr.contains("--peers at least 2"), "{stderr}");
}
