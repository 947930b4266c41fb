//! Options every peer (miner or validator) takes, and what a peer is made of from them:
//! key, model, corpus, storage, how it follows θ, its report and metrics.

use anyhow::Context;
use std::path::PathBuf;

/// Options every peer (miner or validator) takes.
#[derive(Debug, clap::Args)]
pub(crate) struct PeerArgs {
	/// A TOML file of options (keys are the long option names, e.g. `fetch-timeout = 10`);
	/// command-line flags and environment variables win over it.
	#[arg(long)]
	pub(crate) config: Option<PathBuf>,
	/// Serve Prometheus metrics at `http://ADDR/metrics` (e.g. `0.0.0.0:9616`; port 0: any
	/// free port, logged); wins over `--metrics-port`. docs/metrics.md lists them.
	#[arg(long, env = "TESSERA_METRICS_ADDR")]
	pub(crate) metrics_addr: Option<std::net::SocketAddr>,
	/// Serve Prometheus metrics on this port of 127.0.0.1 (shorthand for `--metrics-addr
	/// 127.0.0.1:PORT`).
	#[arg(long, env = "TESSERA_METRICS_PORT")]
	pub(crate) metrics_port: Option<u16>,
	/// WebSocket URL of a tessera node; repeat it (or separate URLs with commas) to list
	/// several nodes of the network, in order of preference: when the connection fails, or no
	/// finalized block comes for `--stall-after`, the peer moves to the next (after the last,
	/// the first again), and it never exits because a node went away.
	#[arg(
		long,
		env = "TESSERA_NODE_URL",
		default_value = "ws://127.0.0.1:9944",
		value_delimiter = ','
	)]
	pub(crate) url: Vec<String>,
	/// Seconds of silence after which the node is taken for gone and the next `--url` is used:
	/// no new finalized block, no answer to a connection or a request, no word about a
	/// transaction being followed. Keep it well above the block time.
	#[arg(long, default_value_t = tessera_chain::endpoints::DEFAULT_STALL.as_secs_f64())]
	pub(crate) stall_after: f64,
	#[command(flatten)]
	pub(crate) key: crate::key::KeyArgs,
	/// Model preset (`tiny`, `small`, `medium`) or a TOML config file.
	#[arg(long, default_value = "tiny")]
	pub(crate) model: String,
	/// Corpus directory (built by `offchain-trainer corpus`).
	#[arg(long, env = "TESSERA_CORPUS_DIR")]
	pub(crate) corpus: PathBuf,
	/// Use a local directory as the network's object storage (all peers on one machine);
	/// without it, locations are S3 endpoints.
	#[arg(long, env = "TESSERA_STORE_DIR")]
	pub(crate) store_dir: Option<PathBuf>,
	/// S3 access key id for the peer's own storage location (it signs requests to that
	/// location only).
	#[arg(long, env = "AWS_ACCESS_KEY_ID")]
	pub(crate) s3_access_key: Option<String>,
	/// S3 secret access key for the own location.
	#[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
	pub(crate) s3_secret_key: Option<String>,
	/// Access key id for reading other peers' stores (anonymous without it: public-read
	/// buckets). Never the own key: another peer's endpoint would see its id.
	#[arg(long, env = "TESSERA_READ_ACCESS_KEY")]
	pub(crate) read_access_key: Option<String>,
	/// Secret key for reading other peers' stores.
	#[arg(long, env = "TESSERA_READ_SECRET_KEY", hide_env_values = true)]
	pub(crate) read_secret_key: Option<String>,
	/// Accept other peers' endpoints on loopback, private and link-local addresses (a network
	/// on one machine or a LAN). Refused by default, so that a peer cannot make others send
	/// requests into their own networks.
	#[arg(long, env = "TESSERA_ALLOW_PRIVATE_ENDPOINTS")]
	pub(crate) allow_private_endpoints: bool,
	/// Create the bucket if it does not exist (for a fresh local S3 server).
	#[arg(long)]
	pub(crate) create_bucket: bool,
	/// Endpoint of the peer's own storage location, as registered on chain.
	#[arg(long, default_value = "http://127.0.0.1:9000")]
	pub(crate) endpoint: String,
	/// Bucket of the peer's own storage location.
	#[arg(long, default_value = "tessera")]
	pub(crate) bucket: String,
	/// Key prefix of the peer's own storage location (default: the account's public key in hex).
	#[arg(long)]
	pub(crate) prefix: Option<String>,
	/// Local checkpoint directory.
	#[arg(long)]
	pub(crate) checkpoint_dir: PathBuf,
	/// Checkpoint every this many confirmed windows.
	#[arg(long, default_value_t = 1)]
	pub(crate) checkpoint_every: u64,
	/// Checkpoints kept.
	#[arg(long, default_value_t = 3)]
	pub(crate) checkpoint_keep: usize,
	/// Deadline of one payload download or probe, in seconds.
	#[arg(long, default_value_t = 10.0)]
	pub(crate) fetch_timeout: f64,
	/// Append a JSON line per trained window and applied outer step to this file.
	#[arg(long)]
	pub(crate) report: Option<PathBuf>,
	/// Exit once the outer step of this window is confirmed.
	#[arg(long)]
	pub(crate) until_window: Option<u64>,
	/// Held-out sequences evaluated after each outer step.
	#[arg(long, default_value_t = 16)]
	pub(crate) eval_rows: usize,
	/// Worker threads for compression and the outer step.
	#[arg(long, default_value_t = 2)]
	pub(crate) threads: usize,
	/// Where the model trains and evaluates: `cpu`, or `cuda` / `cuda:N` (NVIDIA GPU N; a
	/// build with `--features cuda`, docs/gpu.md).
	#[arg(long, env = "TESSERA_DEVICE", default_value = "cpu")]
	pub(crate) device: String,
}

/// What a peer is made of, from its common options.
pub(crate) struct Peer {
	pub(crate) signer: subxt_signer::sr25519::Keypair,
	/// The peer's account (its public key).
	pub(crate) account: [u8; 32],
	/// Where its key came from (`key file …`, `TESSERA_SURI`, …).
	pub(crate) key_source: String,
	pub(crate) model: tessera_model::ModelConfig,
	pub(crate) shard: tessera_data::TokenShard,
	pub(crate) location: tessera_store::Location,
	pub(crate) follow: tessera_peer::follow::FollowOptions,
	pub(crate) network: tessera_peer::run::Network,
	/// The nodes it reaches, in order of preference (the one that answered first in use).
	pub(crate) endpoints: tessera_chain::Endpoints,
	/// How long a silent node is waited for.
	pub(crate) stall: std::time::Duration,
	pub(crate) report: tessera_peer::report::Report,
	pub(crate) metrics: Option<std::net::SocketAddr>,
}

pub(crate) async fn peer(args: &PeerArgs) -> anyhow::Result<Peer> {
	use tessera_model::ModelConfig;
	use tessera_peer::follow::FollowOptions;
	use tessera_store::{Location, Resolver, S3Credentials, S3Limits, Store};
	let key = args.key.load()?;
	let (signer, account, key_source) = (key.pair, key.account, key.source);
	let model = ModelConfig::load(&args.model).context("loading the model config")?;
	let shard = tessera_data::TokenShard::open(&args.corpus).context("opening the corpus")?;
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
	let mut endpoints = tessera_chain::Endpoints::new(&args.url).context("--url")?;
	anyhow::ensure!(
		args.stall_after.is_finite() && args.stall_after >= 1.0,
		"--stall-after must be at least 1 second"
	);
	let stall = std::time::Duration::from_secs_f64(args.stall_after);
	// A transaction's outcome is taken for unknown after this much silence about it.
	tessera_chain::tx::set_silence_limit(stall);
	anyhow::ensure!(args.threads >= 1, "--threads must be at least 1");
	std::fs::create_dir_all(&args.checkpoint_dir).with_context(|| {
		format!("--checkpoint-dir {} cannot be created", args.checkpoint_dir.display())
	})?;
	if let Some(dir) = &args.store_dir {
		std::fs::create_dir_all(dir)
			.with_context(|| format!("--store-dir {} cannot be created", dir.display()))?;
	}
	// The run on chain: our model and corpus must be its; its choices are ours.
	// A node still starting is waited for, as a running peer waits for a lost one.
	let network = {
		let mut failures = 0u32;
		let on_chain = loop {
			let read = async {
				let client = tessera_chain::endpoints::connect_any(&mut endpoints, stall).await?;
				tessera_chain::run::manifest(&client).await
			};
			match read.await {
				Ok(run) => break run,
				Err(e) if failures < 10 => {
					failures += 1;
					let wait = tessera_chain::reconnect::wait_after(
						failures,
						tessera_chain::reconnect::BACKOFF,
					);
					tracing::warn!(error = %e, attempt = failures, ?wait, "cannot read the run from the node yet");
					tokio::time::sleep(wait).await;
				},
				Err(e) => return Err(e).context("reading the run from the node"),
			}
		};
		// The tokenizer is identified by its own bytes, whatever corpus.json claims.
		let ours = shard
			.manifest()
			.with_own_tokenizer_digest(&args.corpus)
			.context("hashing the corpus' tokenizer")?;
		tessera_peer::run::check(&model, &ours, on_chain.as_ref())?
	};
	let metrics_addr = args.metrics_addr.or_else(|| {
		args.metrics_port.map(|port| std::net::SocketAddr::from(([127, 0, 0, 1], port)))
	});
	let metrics = match metrics_addr {
		Some(wanted) => {
			let addr = tessera_peer::metrics::serve(wanted)
				.await
				.with_context(|| format!("serving metrics on {wanted}"))?;
			tracing::info!(%addr, "metrics at http://{addr}/metrics");
			Some(addr)
		},
		None => None,
	};
	let location = Location {
		endpoint: args.endpoint.clone(),
		bucket: args.bucket.clone(),
		prefix: args.prefix.clone().unwrap_or_else(|| hex::encode(account)),
	};
	let pair = |key: &Option<String>, secret: &Option<String>, what: &str| match (key, secret) {
		(Some(a), Some(s)) => {
			Ok(Some(S3Credentials { access_key: a.clone(), secret_key: s.clone() }))
		},
		(None, None) => Ok(None),
		_ => Err(anyhow::anyhow!("give both {what} keys, or neither")),
	};
	let resolver = match &args.store_dir {
		Some(root) => Resolver::Local { root: root.clone() },
		None => Resolver::S3 {
			own: pair(&args.s3_access_key, &args.s3_secret_key, "--s3-access-key/--s3-secret")?
				.map(|c| (location.clone(), c)),
			read: pair(
				&args.read_access_key,
				&args.read_secret_key,
				"--read-access-key/--read-secret",
			)?,
			limits: S3Limits::default(),
			allow_private: args.allow_private_endpoints,
		},
	};
	if args.create_bucket
		&& let Store::S3(store) = resolver.open(&location)?
	{
		store.create_bucket().await.context("creating the bucket")?;
	}
	let follow = FollowOptions {
		resolver,
		outer: tessera_codec::OuterStep { lr: network.outer_lr, threads: args.threads.max(1) },
		rules: network.rules,
		min_updates: network.min_updates,
		// The miner and the validator choose (members only for a miner).
		members_only: false,
		checkpoint_dir: args.checkpoint_dir.clone(),
		checkpoint_every: args.checkpoint_every,
		checkpoint_keep: args.checkpoint_keep,
		fetch_timeout: std::time::Duration::from_secs_f64(args.fetch_timeout),
		eval_rows: args.eval_rows,
		history: network.history,
		// The validator publishes checkpoints; a miner does not.
		publish_checkpoints: false,
		// With the step (validators); the miner sets it for itself.
		evaluate_later: false,
	};
	let report = tessera_peer::report::Report::new(args.report.clone());
	Ok(Peer {
		signer,
		account,
		key_source,
		model,
		shard,
		location,
		follow,
		network,
		endpoints,
		stall,
		report,
		metrics,
	})
}

/// The start-up summary every peer prints: who it is, where it connects and stores, what it
/// runs.
pub(crate) fn summary(role: &str, args: &PeerArgs, p: &Peer) -> String {
	let store = match &args.store_dir {
		Some(dir) => {
			format!("directory {}/{}/{}", dir.display(), p.location.bucket, p.location.prefix)
		},
		None => {
			format!(
				"S3 {} bucket {} prefix {}{}",
				p.location.endpoint,
				p.location.bucket,
				p.location.prefix,
				if args.s3_access_key.is_some() { " (signed)" } else { " (anonymous)" }
			) + match (&args.read_access_key, args.allow_private_endpoints) {
				(Some(_), false) => "; others' stores read signed",
				(Some(_), true) => "; others' stores read signed, private endpoints allowed",
				(None, false) => "; others' stores read anonymously",
				(None, true) => "; others' stores read anonymously, private endpoints allowed",
			}
		},
	};
	[
		format!("tessera {role}"),
		format!(
			"  account   {} (0x{}), key from {}",
			tessera_chain::address::ss58(&p.account),
			hex::encode(p.account),
			p.key_source
		),
		format!("  node      {}", p.endpoints),
		format!("  storage   {store}"),
		format!(
			"  model     {} ({} parameters, vocabulary {}), device {}",
			p.model.name,
			p.model.parameter_count(),
			p.model.vocab_size,
			args.device
		),
		format!("  corpus    {}", args.corpus.display()),
		format!(
			"  run       outer lr {}, k {}, {} values up to {}, null round below {} updates",
			p.network.outer_lr,
			p.network.rules.k,
			if p.network.rules.quantised { "2-bit" } else { "raw f32" },
			p.network.rules.max_value,
			p.network.min_updates
		),
		format!("  state     {}", args.checkpoint_dir.display()),
		format!(
			"  metrics   {}",
			p.metrics.map_or("off (--metrics-addr)".into(), |a| format!("http://{a}/metrics"))
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
