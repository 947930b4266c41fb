//! `offchain-trainer devnet`: the whole network on one machine (DESIGN.md §6) — a dev node, an
//! object store (a local directory, or with `--s3` a real S3 server in-process), three miners
//! (Alice, Bob, Charlie) and one validator (Dave), each a real child process with its own log and
//! report in the run directory; optional adversaries beside them. One status block follows the
//! run; at the end a summary table and a PNG loss/score plot. Ctrl-C (or SIGTERM) stops every
//! child cleanly: SIGTERM, then SIGKILL after a grace period.

pub mod display;
pub mod history;
pub mod memory;
pub mod node;
pub mod plot;
pub mod s3;

use history::PeerInfo;
use node::{NodeConfig, NodeProcess};
use std::{
	path::{Path, PathBuf},
	process::Stdio,
	time::Duration,
};
use tokio::process::{Child, Command};

/// Access key of the devnet's S3 server (a local test server; not a secret).
pub const S3_ACCESS_KEY: &str = "tessera-devnet";
/// Its secret.
pub const S3_SECRET_KEY: &str = "tessera-devnet-secret";

/// Errors of the devnet.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
	/// The node did not start.
	#[error(transparent)]
	Node(#[from] node::NodeError),
	/// The S3 server did not start.
	#[error(transparent)]
	S3(#[from] s3::S3ServerError),
	/// A file or process operation failed.
	#[error("{what}: {source}")]
	Io {
		/// What was being done.
		what: String,
		/// Why it failed.
		source: std::io::Error,
	},
	/// A peer exited with an error.
	#[error("{peer} exited with {status}; its log: {log}")]
	PeerFailed {
		/// The peer.
		peer: String,
		/// Its exit status.
		status: String,
		/// Its log file.
		log: String,
	},
	/// A key URI did not derive.
	#[error("key {0}: cannot derive the account")]
	Key(String),
	/// Interrupted by Ctrl-C or SIGTERM.
	#[error("interrupted: every process stopped")]
	Interrupted,
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DevnetError {
	let what = what.into();
	move |source| DevnetError::Io { what, source }
}

/// How to run the devnet.
#[derive(Clone, Debug)]
pub struct DevnetOptions {
	/// The `tessera-node` binary.
	pub node_bin: PathBuf,
	/// The `offchain-trainer` binary the peers run.
	pub trainer_bin: PathBuf,
	/// Run directory (node database, store, logs, reports, checkpoints, plot).
	pub dir: PathBuf,
	/// The corpus directory.
	pub corpus: PathBuf,
	/// Model preset or config file.
	pub model: String,
	/// Windows to run (peers stop once this window is confirmed).
	pub windows: u64,
	/// Milliseconds between blocks.
	pub block_time_ms: u64,
	/// Serve the store over S3 instead of a shared directory.
	pub s3: bool,
	/// Extra arguments for `start-run` (the run's inner steps, batch size, …).
	pub run_args: Vec<String>,
	/// Extra arguments for every miner.
	pub miner_args: Vec<String>,
	/// Extra arguments for the validator.
	pub validator_args: Vec<String>,
	/// Adversary behaviours, one extra miner each.
	pub adversaries: Vec<String>,
	/// Show the live status block.
	pub live: bool,
}

/// What a finished run produced.
#[derive(Debug)]
pub struct DevnetOutcome {
	/// The summary table.
	pub table: String,
	/// The plot.
	pub plot: PathBuf,
	/// Per-window summaries.
	pub windows: Vec<history::WindowSummary>,
}

struct Running {
	info: PeerInfo,
	child: Child,
	log: PathBuf,
	/// Its peak resident set, last read while it ran (once a second, until it exits).
	peak_rss: Option<u64>,
}

/// Keys for the adversaries, in order.
const ADVERSARY_KEYS: [&str; 8] = [
	"//Eve",
	"//Ferdie",
	"//Alice//stash",
	"//Bob//stash",
	"//Charlie//stash",
	"//Dave//stash",
	"//Eve//stash",
	"//Ferdie//stash",
];

fn account_of(suri: &str) -> Result<String, DevnetError> {
	let account = tessera_chain::address::parse(suri).map_err(|_| DevnetError::Key(suri.into()))?;
	Ok(tessera_chain::address::ss58(&account))
}

/// Runs the devnet to completion (or until interrupted).
pub async fn run(options: DevnetOptions) -> Result<DevnetOutcome, DevnetError> {
	let dir = &options.dir;
	std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
	let store_dir = dir.join("store");
	let s3 = if options.s3 {
		Some(s3::S3Server::start(&dir.join("s3"), S3_ACCESS_KEY, S3_SECRET_KEY).await?)
	} else {
		None
	};
	let node_config = NodeConfig {
		bin: options.node_bin.clone(),
		base_path: dir.join("node"),
		block_time_ms: options.block_time_ms,
		rpc_port: 0,
		log_path: dir.join("node.log"),
		startup_timeout: Duration::from_secs(120),
		// Every block's state stays: `audit --db` on the run answers for any past window.
		state_pruning: Some("archive".into()),
	};
	let mut node = tokio::task::block_in_place(|| NodeProcess::start(&node_config))?;
	println!("node running at {} (log {})", node.rpc_url(), node.log_path().display());

	start_run(&options, node.rpc_url()).await?;

	let mut specs: Vec<(String, String, Option<String>)> = vec![
		("dave".into(), "//Dave".into(), None),
		("alice".into(), "//Alice".into(), Some("honest".into())),
		("bob".into(), "//Bob".into(), Some("honest".into())),
		("charlie".into(), "//Charlie".into(), Some("honest".into())),
	];
	for (behaviour, key) in options.adversaries.iter().zip(ADVERSARY_KEYS) {
		let name = behaviour.split(':').next().unwrap_or("adversary").replace('-', "_");
		specs.push((name, key.into(), Some(behaviour.clone())));
	}
	let mut running = Vec::new();
	for (name, suri, behaviour) in &specs {
		let peer = spawn_peer(
			&options,
			node.rpc_url(),
			s3.as_ref(),
			&store_dir,
			name,
			suri,
			behaviour.as_deref(),
		)?;
		running.push(peer);
	}
	let pids: Vec<serde_json::Value> =
		std::iter::once(serde_json::json!({"name": "node", "pid": node.pid()}))
			.chain(running.iter().filter_map(|r| {
				r.child.id().map(|pid| serde_json::json!({"name": r.info.name, "pid": pid}))
			}))
			.collect();
	std::fs::write(dir.join("processes.json"), serde_json::Value::Array(pids).to_string())
		.map_err(io("writing processes.json"))?;

	let result = watch(&options, &mut running, node.rpc_url()).await;
	// Each process's peak memory: the node's now, the peers' as last read while they ran (a
	// peer stops by itself after the last window).
	let mut peaks = vec![("node".to_string(), false, memory::peak_rss_bytes(node.pid()))];
	peaks.extend(running.iter().map(|r| {
		let now = r.child.id().and_then(memory::peak_rss_bytes);
		(r.info.name.clone(), !r.info.validator, now.or(r.peak_rss))
	}));
	// Every peer is asked to stop first, then all are waited for together (each stops
	// cleanly: a miner may still upload a payload it committed).
	let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
	for r in &running {
		terminate(&r.child);
	}
	for r in &mut running {
		wait_or_kill(&mut r.child, deadline).await;
	}
	tokio::task::block_in_place(|| node.stop(Duration::from_secs(10)));
	result?;

	let infos: Vec<PeerInfo> = running.iter().map(|r| r.info.clone()).collect();
	// Peers may apply a window past the last one before they stop: show the requested ones.
	let windows: Vec<history::WindowSummary> =
		history::read(dir, &infos).into_iter().filter(|w| w.window <= options.windows).collect();
	let miners: Vec<&PeerInfo> = infos.iter().filter(|p| !p.validator).collect();
	let mut table = display::summary_table(&windows, &miners);
	// A devnet window is 10 blocks (the dev chain's window length).
	let window_seconds = 10.0 * options.block_time_ms as f64 / 1e3;
	table.push('\n');
	table.push_str(&display::utilisation(&windows, &miners, window_seconds));
	table.push('\n');
	let state_bytes = tessera_model::ModelConfig::load(&options.model)
		.map_or(0, |m| memory::miner_state_bytes(&m));
	table.push_str(&memory::line(&peaks, state_bytes));
	table.push('\n');
	let plot = dir.join("devnet.png");
	if let Err(e) = plot::draw(&plot, &windows) {
		tracing::warn!(error = %e, "no plot");
	}
	Ok(DevnetOutcome { table, plot, windows })
}

/// Records the run on the dev chain (Alice is its sudo key) with `start-run`, as an operator
/// would, before any peer starts.
async fn start_run(options: &DevnetOptions, url: &str) -> Result<(), DevnetError> {
	let log = options.dir.join("start-run.log");
	let file = std::fs::File::create(&log).map_err(io(format!("creating {}", log.display())))?;
	let err = file.try_clone().map_err(io("duplicating a log handle"))?;
	let status = Command::new(&options.trainer_bin)
		.args(["start-run", "--url", url, "--suri", "//Alice", "--model", &options.model])
		.arg("--corpus")
		.arg(&options.corpus)
		.args(&options.run_args)
		.stdin(Stdio::null())
		.stdout(file)
		.stderr(err)
		.status()
		.await
		.map_err(io("running start-run"))?;
	if !status.success() {
		return Err(DevnetError::PeerFailed {
			peer: "start-run".into(),
			status: status.to_string(),
			log: log.display().to_string(),
		});
	}
	Ok(())
}

#[allow(clippy::too_many_arguments)]
fn spawn_peer(
	options: &DevnetOptions,
	url: &str,
	s3: Option<&s3::S3Server>,
	store_dir: &Path,
	name: &str,
	suri: &str,
	behaviour: Option<&str>,
) -> Result<Running, DevnetError> {
	let dir = &options.dir;
	let log = dir.join(format!("{name}.log"));
	let file = std::fs::File::create(&log).map_err(io(format!("creating {}", log.display())))?;
	let err = file.try_clone().map_err(io("duplicating a log handle"))?;
	let mut c = Command::new(&options.trainer_bin);
	c.arg(if behaviour.is_some() { "miner" } else { "validator" })
		.args(["--url", url, "--suri", suri, "--model", &options.model, "--prefix", name])
		.arg("--corpus")
		.arg(&options.corpus)
		.arg("--checkpoint-dir")
		.arg(dir.join(format!("{name}-checkpoints")))
		.arg("--report")
		.arg(dir.join(format!("{name}.jsonl")))
		.args(["--until-window", &options.windows.to_string()]);
	match s3 {
		Some(s3) => {
			// Every peer's bucket is on one loopback S3 server: reading the others takes its
			// key (passed separately from the own one) and a private endpoint.
			c.args(["--endpoint", s3.endpoint(), "--create-bucket"])
				.args(["--s3-access-key", S3_ACCESS_KEY, "--s3-secret-key", S3_SECRET_KEY])
				.args(["--read-access-key", S3_ACCESS_KEY, "--read-secret-key", S3_SECRET_KEY])
				.arg("--allow-private-endpoints");
		},
		None => {
			c.arg("--store-dir").arg(store_dir);
		},
	}
	match behaviour {
		Some(b) => {
			c.args(["--behaviour", b]).args(&options.miner_args);
		},
		None => {
			c.args(&options.validator_args);
		},
	}
	let child = c
		.env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
		.stdin(Stdio::null())
		.stdout(file)
		.stderr(err)
		.kill_on_drop(true)
		.spawn()
		.map_err(io(format!("starting {name}")))?;
	Ok(Running {
		info: PeerInfo {
			name: name.into(),
			account: account_of(suri)?,
			validator: behaviour.is_none(),
		},
		child,
		log,
		peak_rss: None,
	})
}

/// Follows the run until every peer has exited, showing the status block; stops on Ctrl-C.
async fn watch(
	options: &DevnetOptions,
	running: &mut [Running],
	url: &str,
) -> Result<(), DevnetError> {
	let infos: Vec<PeerInfo> = running.iter().map(|r| r.info.clone()).collect();
	let miners: Vec<&PeerInfo> = infos.iter().filter(|p| !p.validator).collect();
	let bar = if options.live {
		tessera_peer::progress::add(indicatif::ProgressBar::new_spinner())
	} else {
		indicatif::ProgressBar::hidden()
	};
	bar.set_style(
		indicatif::ProgressStyle::with_template("{spinner} {msg}")
			.unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
	);
	let client = tessera_chain::connect(url).await.ok();
	// Both streams are created once, before the loop: a signal that arrives while the loop is
	// busy outside `select!` (querying the chain, reading reports) waits in its stream. A
	// `ctrl_c()` future made afresh each turn would miss a Ctrl-C delivered between turns.
	use tokio::signal::unix::{SignalKind, signal};
	let mut interrupt =
		signal(SignalKind::interrupt()).map_err(io("installing the SIGINT handler"))?;
	let mut terminate =
		signal(SignalKind::terminate()).map_err(io("installing the SIGTERM handler"))?;
	let mut done = vec![false; running.len()];
	loop {
		tokio::select! {
			_ = interrupt.recv() => {
				bar.finish_and_clear();
				return Err(DevnetError::Interrupted);
			},
			_ = terminate.recv() => {
				bar.finish_and_clear();
				return Err(DevnetError::Interrupted);
			},
			_ = tokio::time::sleep(Duration::from_secs(1)) => {},
		}
		for (r, d) in running.iter_mut().zip(done.iter_mut()) {
			if *d {
				continue;
			}
			// The peak so far, read while the process still has its /proc entry.
			if let Some(peak) = r.child.id().and_then(memory::peak_rss_bytes) {
				r.peak_rss = Some(peak);
			}
			if let Ok(Some(status)) = r.child.try_wait() {
				if !status.success() {
					bar.finish_and_clear();
					return Err(DevnetError::PeerFailed {
						peer: r.info.name.clone(),
						status: status.to_string(),
						log: r.log.display().to_string(),
					});
				}
				*d = true;
			}
		}
		if done.iter().all(|d| *d) {
			bar.finish_and_clear();
			return Ok(());
		}
		let block = match &client {
			Some(c) => c.at_current_block().await.ok().map(|at| at.block_number()),
			None => None,
		};
		let windows = history::read(&options.dir, &infos);
		bar.set_message(display::status(block, &windows, &miners));
		bar.tick();
	}
}

/// Sends SIGTERM to `child` if it still runs.
fn terminate(child: &Child) {
	if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
		let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGTERM);
	}
}

/// Waits for `child` until `deadline`, then SIGKILLs it.
async fn wait_or_kill(child: &mut Child, deadline: tokio::time::Instant) {
	if tokio::time::timeout_at(deadline, child.wait()).await.is_err() {
		let _ = child.kill().await;
	}
}
