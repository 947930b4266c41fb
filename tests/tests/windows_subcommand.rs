//! End to end: `offchain-trainer windows` follows a real node's finalized blocks and prints each
//! window as it opens.

use std::{process::Stdio, time::Duration};
use tessera_e2e::{NodeOptions, TestNode, binary};

#[tokio::test(flavor = "multi_thread")]
async fn windows_subcommand_prints_each_opened_window() -> anyhow::Result<()> {
	let node = TestNode::start(NodeOptions::default())?;
	let output = tokio::process::Command::new(binary("offchain-trainer")?)
		.args(["windows", "--url", node.rpc_url(), "--count", "2"])
		.stdin(Stdio::null())
		.kill_on_drop(true)
		.output();
	let output = tokio::time::timeout(Duration::from_secs(120), output).await??;
	let stdout = String::from_utf8_lossy(&output.stdout);
	assert!(
		output.status.success(),
		"exit {}: {}",
		output.status,
		String::from_utf8_lossy(&output.stderr)
	);

	let lines: Vec<&str> = stdout.lines().collect();
	assert_eq!(lines.len(), 2, "two windows printed: {stdout}");
	let mut windows = Vec::new();
	for line in lines {
		// "window W opened at block B (0x…) seed 0x…"
		let words: Vec<&str> = line.split_whitespace().collect();
		assert_eq!(words[0], "window", "{line}");
		let w: u64 = words[1].parse()?;
		let block: u64 = words[5].parse()?;
		assert_eq!(block, w * 10, "window {w} opens at block {}", w * 10);
		assert!(line.contains(" seed 0x"), "{line}");
		windows.push(w);
	}
	assert_eq!(windows[1], windows[0] + 1, "consecutive windows");
	Ok(())
}
