//! `offchain-trainer start-run`: the operator records the run's identity on chain (through the
//! chain's sudo key): the model and corpus it is computed from, and the network's choices every
//! peer then takes from the chain (the inner optimizer, outer learning rate, k, value coding,
//! largest update value, fewest updates per step, history kept on chain and checkpoints).

use anyhow::Context;
use std::path::PathBuf;

/// Options of `offchain-trainer start-run` (a later flag wins over an earlier one).
#[derive(Debug, clap::Args)]
#[command(args_override_self = true)]
pub(crate) struct StartRunArgs {
	/// WebSocket URL of a tessera node.
	#[arg(long, env = "TESSERA_NODE_URL", default_value = "ws://127.0.0.1:9944")]
	pub(crate) url: String,
	/// The chain's sudo key (`--suri //Alice` on dev chains).
	#[command(flatten)]
	pub(crate) key: crate::key::KeyArgs,
	/// Model preset (`tiny`, `small`, `medium`) or a TOML config file.
	#[arg(long, default_value = "tiny")]
	pub(crate) model: String,
	/// Corpus directory (built by `offchain-trainer corpus`): its tokenizer and dataset digests.
	#[arg(long, env = "TESSERA_CORPUS_DIR")]
	pub(crate) corpus: PathBuf,
	/// Outer learning rate.
	#[arg(long, default_value_t = 0.7)]
	pub(crate) outer_lr: f32,
	/// Values every payload keeps per 4096-value chunk.
	#[arg(long, default_value_t = 64)]
	pub(crate) top_k: u32,
	/// Send kept values as raw f32 instead of 2-bit codes.
	#[arg(long)]
	pub(crate) raw_values: bool,
	/// Largest magnitude of a kept value; a payload with a larger one is invalid.
	#[arg(long, default_value_t = 1.0)]
	pub(crate) max_update_value: f32,
	/// Fewest included updates that make a step (fewer: a null round, θ unchanged).
	#[arg(long, default_value_t = 1)]
	pub(crate) min_updates: u32,
	/// Inner AdamW steps per window (H).
	#[arg(long, default_value_t = 30)]
	pub(crate) inner_steps: usize,
	/// Sequences per inner step.
	#[arg(long, default_value_t = 8)]
	pub(crate) batch_size: usize,
	/// Peak inner learning rate.
	#[arg(long, default_value_t = 1e-3)]
	pub(crate) lr: f64,
	/// Inner warm-up steps (network-wide).
	#[arg(long, default_value_t = 100)]
	pub(crate) warmup_steps: u64,
	/// Inner cosine-decay steps after the warm-up.
	#[arg(long, default_value_t = 10_000)]
	pub(crate) decay_steps: u64,
	/// Windows of history kept on chain (at most the runtime's `RetainWindows`, 256); at least
	/// `checkpoints-kept × checkpoint-interval + 2`.
	#[arg(long, default_value_t = 256)]
	pub(crate) retain_windows: u64,
	/// Validators checkpoint θ into their stores after every window that is a multiple of this.
	#[arg(long, default_value_t = 10)]
	pub(crate) checkpoint_interval: u64,
	/// Checkpoints kept on chain and in the stores.
	#[arg(long, default_value_t = 2)]
	pub(crate) checkpoints_kept: u64,
}

pub(crate) async fn run(args: StartRunArgs) -> anyhow::Result<()> {
	use tessera_peer::run::{RunChoices, check, manifest};
	let model =
		tessera_model::ModelConfig::load(&args.model).context("loading the model config")?;
	let corpus = tessera_data::CorpusManifest::load(&args.corpus)
		.and_then(|c| c.with_own_tokenizer_digest(&args.corpus))
		.context("reading the corpus")?;
	anyhow::ensure!(
		corpus.vocab_size == model.vocab_size,
		"the corpus' vocabulary ({}) differs from the model's ({})",
		corpus.vocab_size,
		model.vocab_size
	);
	let choices = RunChoices {
		outer_lr: args.outer_lr,
		top_k: args.top_k,
		quantised: !args.raw_values,
		max_update_value: args.max_update_value,
		min_updates: args.min_updates,
		inner: tessera_model::train::InnerConfig {
			steps: args.inner_steps,
			batch_size: args.batch_size,
			schedule: tessera_model::train::LrSchedule {
				peak: args.lr,
				warmup_steps: args.warmup_steps,
				decay_steps: args.decay_steps,
				min_ratio: 0.1,
			},
		},
		adamw: tessera_model::train::AdamWConfig::default(),
		history: tessera_peer::run::History {
			retain_windows: args.retain_windows,
			checkpoint_interval: args.checkpoint_interval,
			checkpoints_kept: args.checkpoints_kept,
		},
	};
	let wanted = manifest(&model, &corpus, &choices)?;
	let client = tessera_chain::connect(&args.url).await?;
	if let Some(existing) = tessera_chain::run::manifest(&client).await? {
		// Starting the same run again is a no-op; another one is refused with the difference.
		check(&model, &corpus, Some(&existing))?;
		if existing != wanted {
			let ours = tessera_chain::run::fields(&wanted);
			let differ: Vec<String> = tessera_chain::run::fields(&existing)
				.into_iter()
				.zip(ours)
				.filter(|(on_chain, asked)| on_chain.1 != asked.1)
				.map(|((field, on_chain), (_, asked))| {
					format!("{field} is {on_chain} on chain, {asked} here")
				})
				.collect();
			anyhow::bail!(
				"a run with other choices is already started on this chain: {}",
				differ.join("; ")
			);
		}
		println!("the run is already started on this chain with this manifest");
		return Ok(());
	}
	let root = args.key.load().context("the chain's sudo key")?.pair;
	tessera_chain::run::start(&client, &root, wanted.clone()).await.context("starting the run")?;
	print!(
		"run started; {}",
		tessera_trainer::audit::render::run(
			&tessera_chain::run::fields(&wanted),
			tessera_trainer::audit::render::Format::Table
		)
	);
	Ok(())
}
