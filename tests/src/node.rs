//! A real `tessera-node --dev` process for tests.
//!
//! The node listens on port 0 for RPC and p2p; the harness reads the RPC address the node
//! actually bound from its log, so parallel tests never collide on ports and nothing sleeps.

use anyhow::{Context, bail};
use std::{
	io::{BufRead, BufReader, Write},
	process::{Child, Command, Stdio},
	sync::mpsc,
	time::{Duration, Instant},
};

/// How to start a node.
#[derive(Clone, Debug)]
pub struct NodeOptions {
	/// Milliseconds between blocks.
	pub block_time_ms: u64,
	/// How long to wait for the RPC server to come up.
	pub startup_timeout: Duration,
}

impl Default for NodeOptions {
	fn default() -> Self {
		Self { block_time_ms: 200, startup_timeout: Duration::from_secs(120) }
	}
}

/// A running dev node; killed, and its database removed, on drop.
pub struct TestNode {
	child: Child,
	rpc_url: String,
	log_path: std::path::PathBuf,
	_dir: tempfile::TempDir,
}

impl TestNode {
	/// Starts `tessera-node --dev` with a fresh database and waits until its RPC server runs.
	pub fn start(options: NodeOptions) -> anyhow::Result<Self> {
		let dir = tempfile::Builder::new().prefix("tessera-node-").tempdir()?;
		let log_path = dir.path().join("node.log");
		let bin = crate::binary("tessera-node")?;
		let mut child = Command::new(&bin)
			.args(["--dev", "--base-path"])
			.arg(dir.path().join("db"))
			.args([
				"--rpc-port",
				"0",
				"--listen-addr",
				"/ip4/127.0.0.1/tcp/0",
				"--no-prometheus",
				"--no-telemetry",
				"--no-mdns",
				"--block-time-ms",
			])
			.arg(options.block_time_ms.to_string())
			.stdin(Stdio::null())
			.stdout(Stdio::null())
			.stderr(Stdio::piped())
			.spawn()
			.with_context(|| format!("starting {}", bin.display()))?;

		let stderr = child.stderr.take().context("node stderr is piped")?;
		let (tx, rx) = mpsc::channel::<String>();
		let mut log = std::fs::File::create(&log_path)?;
		std::thread::spawn(move || {
			for line in BufReader::new(stderr).lines() {
				let Ok(line) = line else { break };
				let _ = writeln!(log, "{line}");
				if let Some(addr) = rpc_address(&line) {
					let _ = tx.send(addr);
				}
			}
		});

		let deadline = Instant::now() + options.startup_timeout;
		let addr = loop {
			if let Some(status) = child.try_wait()? {
				bail!(
					"node exited with {status} before its RPC server started; log: {}",
					log_path.display()
				);
			}
			let left = deadline.saturating_duration_since(Instant::now());
			if left.is_zero() {
				let _ = child.kill();
				bail!(
					"node RPC server not up within {:?}; log: {}",
					options.startup_timeout,
					log_path.display()
				);
			}
			match rx.recv_timeout(left.min(Duration::from_millis(500))) {
				Ok(addr) => break addr,
				Err(mpsc::RecvTimeoutError::Timeout) => continue,
				Err(mpsc::RecvTimeoutError::Disconnected) => {
					let _ = child.kill();
					bail!(
						"node closed its log before its RPC server started; log: {}",
						log_path.display()
					);
				},
			}
		};
		Ok(Self { child, rpc_url: format!("ws://{addr}"), log_path, _dir: dir })
	}

	/// The node's WebSocket RPC URL.
	pub fn rpc_url(&self) -> &str {
		&self.rpc_url
	}

	/// The node's log file (kept until the node is dropped).
	pub fn log_path(&self) -> &std::path::Path {
		&self.log_path
	}
}

impl Drop for TestNode {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// The address in sc-service's "Running JSON-RPC server: addr=127.0.0.1:PORT,…" log line.
fn rpc_address(line: &str) -> Option<String> {
	let rest = line.split("Running JSON-RPC server: addr=").nth(1)?;
	let addr: String = rest.chars().take_while(|c| !c.is_whitespace() && *c != ',').collect();
	(!addr.is_empty()).then_some(addr)
}

#[cfg(test)]
mod tests {
	use super::rpc_address;

	#[test]
	fn parses_rpc_address_from_log_line() {
		let line = "2026-11-21 23:40:01 Running JSON-RPC server: addr=127.0.0.1:40123,[::1]:40123";
		assert_eq!(rpc_address(line).as_deref(), Some("127.0.0.1:40123"));
		assert_eq!(rpc_address("Idle (0 peers)"), None);
	}
}
