//! End to end: `offchain-trainer devnet` (the README's main command) starts a node, an S3
//! object store, three miners and a validator as real processes, runs to the requested window
//! with every θ agreeing and the held-out loss falling, and leaves a summary table and a PNG
//! plot. Ctrl-C (SIGINT) stops it and every child process.

use std::{path::Path, process::Stdio, time::Duration};
use tessera_e2e::{TestDir, binary, corpus};
use tokio::process::Command;

fn devnet(dir: &Path, corpus: &Path, windows: u64) -> anyhow::Result<Command> {
	let mut c = Command::new(binary("offchain-trainer")?);
	c.args(["devnet", "--model", "tiny", "--windows", &windows.to_string()])
		.args(["--block-time-ms", "1000", "--inner-steps", "8", "--batch-size", "4"])
		.args(["--lr", "3e-3", "--threads", "1", "--quiet"])
		.arg("--corpus")
		.arg(corpus)
		.arg("--dir")
		.arg(dir)
		.arg("--node-bin")
		.arg(binary("tessera-node")?)
		.stdin(Stdio::null())
		.kill_on_drop(true);
	Ok(c)
}

#[tokio::test(flavor = "multi_thread")]
async fn devnet_runs_the_whole_network_and_shows_it_learning() -> anyhow::Result<()> {
	let corpus = corpus()?;
	let dir = TestDir::new()?;
	let out = devnet(dir.path(), &corpus, 4)?.arg("--s3").output();
	let out = tokio::time::timeout(Duration::from_secs(420), out).await??;
	let stdout = String::from_utf8_lossy(&out.stdout);
	let stderr = String::from_utf8_lossy(&out.stderr);
	assert!(out.status.success(), "devnet failed: {}\n{stdout}\n{stderr}", out.status);
	for w in 1..=4 {
		let row = stdout
			.lines()
			.find(|l| l.split_whitespace().next() == Some(&w.to_string()))
			.unwrap_or_else(|| panic!("no row for window {w}:\n{stdout}"));
		assert!(row.contains("agreed"), "every θ agrees in window {w}: {row}");
	}
	let losses: Vec<f32> = stdout
		.lines()
		.find_map(|l| l.strip_prefix("held-out loss "))
		.map(|l| l.split(" → ").filter_map(|x| x.trim().parse().ok()).collect())
		.unwrap_or_default();
	assert!(losses.len() == 2 && losses[1] < losses[0] - 0.2, "loss falls: {losses:?}\n{stdout}");
	let png = std::fs::read(dir.path().join("devnet.png"))?;
	assert_eq!(&png[1..4], b"PNG");
	for name in ["alice", "bob", "charlie", "dave"] {
		assert!(dir.path().join(format!("{name}.jsonl")).is_file(), "{name}'s report");
	}
	Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_the_devnet_and_every_child_process() -> anyhow::Result<()> {
	let corpus = corpus()?;
	let dir = TestDir::new()?;
	let mut child =
		devnet(dir.path(), &corpus, 50)?.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
	// Wait until the network runs: the node and all peers started, a window applied.
	let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
	let report = dir.path().join("alice.jsonl");
	while !std::fs::read_to_string(&report).is_ok_and(|r| r.contains("\"applied\"")) {
		anyhow::ensure!(tokio::time::Instant::now() < deadline, "the devnet never got going");
		anyhow::ensure!(child.try_wait()?.is_none(), "the devnet exited early");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let processes: serde_json::Value =
		serde_json::from_str(&std::fs::read_to_string(dir.path().join("processes.json"))?)?;
	let pids: Vec<i32> = processes
		.as_array()
		.map(|a| a.iter().filter_map(|p| p["pid"].as_i64()).map(|p| p as i32).collect())
		.unwrap_or_default();
	assert_eq!(pids.len(), 5, "node, validator and three miners: {processes}");
	let pid = child.id().map(|p| p as i32).ok_or_else(|| anyhow::anyhow!("no pid"))?;
	nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGINT)?;
	let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await??;
	assert!(!status.success(), "an interrupted devnet says so: {status}");
	for p in pids {
		assert!(!Path::new(&format!("/proc/{p}")).exists(), "process {p} still runs");
	}
	Ok(())
}
