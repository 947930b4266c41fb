//! `offchain-trainer devnet`: the whole network on this machine.

use anyhow::Context;
use std::path::PathBuf;

/// Options of `offchain-trainer devnet`.
#[derive(Debug, clap::Args)]
pub(crate) struct DevnetArgs {
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
	/// Inner steps per window for each miner at most (a loaded machine fits fewer: the
	/// last one is then shortened to what fits).
	#[arg(long, default_value_t = 8)]
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

pub(crate) async fn run(args: DevnetArgs) -> anyhow::Result<()> {
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
	if tessera_data::TokenShard::open(&corpus).is_err() {
		let source = args.source.context(
			"no corpus yet: pass --source with the archive `scripts/fetch-corpus.sh` downloads",
		)?;
		println!("building the corpus in {} …", corpus.display());
		tessera_data::build_corpus(
			&source,
			&corpus,
			4096,
			Some(tessera_data::corpus::SOURCE_SHA256),
		)
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
	let run_args = vec![
		"--inner-steps".into(),
		args.inner_steps.to_string(),
		"--batch-size".into(),
		args.batch_size.to_string(),
		"--lr".into(),
		args.lr.to_string(),
		"--warmup-steps".into(),
		args.inner_steps.to_string(),
	];
	let miner_args = vec!["--threads".into(), threads.clone(), "--eval-rows".into(), "8".into()];
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
		run_args,
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
