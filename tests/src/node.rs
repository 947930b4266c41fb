//! A real `tessera-node --dev` process for tests (the devnet's [`NodeProcess`]), with a fresh
//! database in a temporary directory. RPC and p2p listen on ports the node picks; the RPC
//! address is read from its log, so parallel tests never collide and nothing sleeps. A node can
//! be stopped and restarted on the same database and RPC port (a node restart mid-window).

use std::time::Duration;
use tessera_trainer::devnet::node::{NodeConfig, NodeProcess};

/// How to start a node.
#[derive(Clone, Debug)]
pub struct NodeOptions {
	/// Milliseconds between blocks.
	pub block_time_ms: u64,
	/// How long to wait for the RPC server to come up.
	pub startup_timeout: Duration,
	/// `--state-pruning` (`archive`, or a number of recent blocks); `None`: the node's default.
	pub state_pruning: Option<String>,
}

impl Default for NodeOptions {
	fn default() -> Self {
		Self { block_time_ms: 200, startup_timeout: Duration::from_secs(120), state_pruning: None }
	}
}

/// A running dev node; stopped, and its database removed, on drop.
pub struct TestNode {
	process: NodeProcess,
	config: NodeConfig,
	rpc_url: String,
	_dir: tempfile::TempDir,
}

impl TestNode {
	/// Starts `tessera-node --dev` with a fresh database and waits until its RPC server runs.
	pub fn start(options: NodeOptions) -> anyhow::Result<Self> {
		let dir = tempfile::Builder::new().prefix("tessera-node-").tempdir()?;
		let mut config = NodeConfig {
			bin: crate::binary("tessera-node")?,
			base_path: dir.path().join("db"),
			block_time_ms: options.block_time_ms,
			rpc_port: 0,
			log_path: dir.path().join("node.log"),
			startup_timeout: options.startup_timeout,
			state_pruning: options.state_pruning,
		};
		let process = NodeProcess::start(&config)?;
		config.rpc_port = process.rpc_port();
		let rpc_url = process.rpc_url().to_string();
		Ok(Self { process, config, rpc_url, _dir: dir })
	}

	/// The node's WebSocket RPC URL (the same across restarts).
	pub fn rpc_url(&self) -> &str {
		&self.rpc_url
	}

	/// The node's log file (kept until the node is dropped).
	pub fn log_path(&self) -> &std::path::Path {
		self.process.log_path()
	}

	/// Stops the node (SIGTERM) and starts it again on the same database and RPC port.
	pub fn restart(&mut self) -> anyhow::Result<()> {
		self.process.stop(Duration::from_secs(20));
		// The old process is gone; its port may take a moment to be free again.
		let deadline = std::time::Instant::now() + self.config.startup_timeout;
		loop {
			match NodeProcess::start(&self.config) {
				Ok(p) => {
					self.process = p;
					return Ok(());
				},
				Err(e) if std::time::Instant::now() < deadline => {
					eprintln!("node restart failed, retrying: {e}");
					std::thread::sleep(Duration::from_millis(500));
				},
				Err(e) => return Err(e.into()),
			}
		}
	}
}
