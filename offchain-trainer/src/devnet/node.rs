//! A `tessera-node --dev` child process on loopback: RPC and p2p on ports the node picks (or a
//! given RPC port, to restart on the same address), its log written to a file, and its RPC
//! address read from that log rather than guessed. Stopped with SIGTERM (then SIGKILL) on
//! [`NodeProcess::stop`] or drop.

use std::{
	io::{BufRead, BufReader, Write},
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	sync::mpsc,
	time::{Duration, Instant},
};

/// Why the node could not be started.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
	/// The binary could not be run.
	#[error("cannot start {bin}: {source}")]
	Spawn {
		/// The binary.
		bin: String,
		/// Why.
		source: std::io::Error,
	},
	/// It exited or stopped logging before its RPC server ran.
	#[error("the node exited before its RPC server started ({status}); log: {log}")]
	Exited {
		/// Its exit status.
		status: String,
		/// Its log file.
		log: String,
	},
	/// Its RPC server did not come up in time.
	#[error("the node's RPC server did not start within {timeout:?}; log: {log}")]
	Timeout {
		/// How long we waited.
		timeout: Duration,
		/// Its log file.
		log: String,
	},
	/// The log file could not be written.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: String,
		/// Why.
		source: std::io::Error,
	},
}

/// How to start the node.
#[derive(Clone, Debug)]
pub struct NodeConfig {
	/// The `tessera-node` binary.
	pub bin: PathBuf,
	/// Its database directory (`--base-path`); reusing one restarts the same chain.
	pub base_path: PathBuf,
	/// Milliseconds between blocks.
	pub block_time_ms: u64,
	/// RPC port (0: any free port).
	pub rpc_port: u16,
	/// Where its log goes (appended).
	pub log_path: PathBuf,
	/// How long to wait for the RPC server.
	pub startup_timeout: Duration,
	/// `--state-pruning`: `archive` keeps every block's state (audits of any past block);
	/// a number keeps that many recent blocks'; `None`: the node's default (256), or what an
	/// existing database was made with.
	pub state_pruning: Option<String>,
}

/// A running node.
pub struct NodeProcess {
	child: Child,
	rpc_url: String,
	rpc_port: u16,
	log_path: PathBuf,
}

impl NodeProcess {
	/// Starts the node and waits until its RPC server runs.
	pub fn start(config: &NodeConfig) -> Result<Self, NodeError> {
		let log_err =
			|source| NodeError::Io { path: config.log_path.display().to_string(), source };
		let mut log = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(&config.log_path)
			.map_err(log_err)?;
		let mut child = Command::new(&config.bin)
			.args(["--dev", "--base-path"])
			.arg(&config.base_path)
			.args(["--rpc-port", &config.rpc_port.to_string()])
			.args(["--listen-addr", "/ip4/127.0.0.1/tcp/0"])
			.args(["--no-prometheus", "--no-telemetry", "--no-mdns"])
			.args(["--block-time-ms", &config.block_time_ms.to_string()])
			.args(config.state_pruning.iter().flat_map(|p| ["--state-pruning", p.as_str()]))
			.stdin(Stdio::null())
			.stdout(Stdio::null())
			.stderr(Stdio::piped())
			.spawn()
			.map_err(|source| NodeError::Spawn { bin: config.bin.display().to_string(), source })?;
		let Some(stderr) = child.stderr.take() else {
			let _ = child.kill();
			return Err(NodeError::Exited { status: "no stderr".into(), log: log_name(config) });
		};
		let (tx, rx) = mpsc::channel::<String>();
		std::thread::spawn(move || {
			for line in BufReader::new(stderr).lines() {
				let Ok(line) = line else { break };
				let _ = writeln!(log, "{line}");
				if let Some(addr) = rpc_address(&line) {
					let _ = tx.send(addr);
				}
			}
		});
		let deadline = Instant::now() + config.startup_timeout;
		let addr = loop {
			if let Ok(Some(status)) = child.try_wait() {
				return Err(NodeError::Exited {
					status: status.to_string(),
					log: log_name(config),
				});
			}
			let left = deadline.saturating_duration_since(Instant::now());
			if left.is_zero() {
				let _ = child.kill();
				let _ = child.wait();
				return Err(NodeError::Timeout {
					timeout: config.startup_timeout,
					log: log_name(config),
				});
			}
			match rx.recv_timeout(left.min(Duration::from_millis(500))) {
				Ok(addr) => break addr,
				Err(mpsc::RecvTimeoutError::Timeout) => continue,
				Err(mpsc::RecvTimeoutError::Disconnected) => {
					let _ = child.kill();
					let status = child.wait().map_or("unknown".into(), |s| s.to_string());
					return Err(NodeError::Exited { status, log: log_name(config) });
				},
			}
		};
		let rpc_port = addr.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0);
		Ok(Self {
			child,
			rpc_url: format!("ws://{addr}"),
			rpc_port,
			log_path: config.log_path.clone(),
		})
	}

	/// `ws://127.0.0.1:PORT`.
	pub fn rpc_url(&self) -> &str {
		&self.rpc_url
	}

	/// The RPC port the node bound.
	pub fn rpc_port(&self) -> u16 {
		self.rpc_port
	}

	/// The process id.
	pub fn pid(&self) -> u32 {
		self.child.id()
	}

	/// The log file.
	pub fn log_path(&self) -> &Path {
		&self.log_path
	}

	/// Stops the node: SIGTERM, then SIGKILL after `grace`.
	pub fn stop(&mut self, grace: Duration) {
		terminate(&mut self.child, grace);
	}
}

impl Drop for NodeProcess {
	fn drop(&mut self) {
		terminate(&mut self.child, Duration::from_secs(5));
	}
}

/// SIGTERM `child`, wait up to `grace` for it, then SIGKILL.
pub fn terminate(child: &mut Child, grace: Duration) {
	if let Ok(Some(_)) = child.try_wait() {
		return;
	}
	if let Ok(pid) = i32::try_from(child.id()) {
		let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGTERM);
	}
	let deadline = Instant::now() + grace;
	while Instant::now() < deadline {
		if let Ok(Some(_)) = child.try_wait() {
			return;
		}
		std::thread::sleep(Duration::from_millis(50));
	}
	let _ = child.kill();
	let _ = child.wait();
}

fn log_name(config: &NodeConfig) -> String {
	config.log_path.display().to_string()
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
