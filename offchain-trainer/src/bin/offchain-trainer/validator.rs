//! `offchain-trainer validator`: its options, and the validator built from them.

use crate::peer::{PeerArgs, peer, summary};
use std::path::PathBuf;

/// Options of `offchain-trainer validator`.
#[derive(Debug, clap::Args)]
#[command(args_override_self = true)]
pub(crate) struct ValidatorArgs {
	#[command(flatten)]
	pub(crate) peer: PeerArgs,
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

pub(crate) async fn run(args: ValidatorArgs) -> anyhow::Result<()> {
	use tessera_peer::gauntlet::ScoreConfig;
	use tessera_peer::replica::Replica;
	use tessera_peer::validator::{self, ScorePolicy, ValidatorOptions};
	let p = peer(&args.peer).await?;
	anyhow::ensure!(args.eval_sequences > 0, "--eval-sequences must be at least 1");
	anyhow::ensure!(
		(0.0..=1.0).contains(&args.indicator_alpha),
		"--indicator-alpha must lie in [0, 1]"
	);
	// A validator follows θ and evaluates; it holds no optimizer or error-feedback state.
	let replica = Replica::follower(&p.model, &tessera_model::model_device(&args.peer.device)?)?;
	eprintln!("{}", summary("validator", &args.peer, &p));
	tracing::info!(
		account = %tessera_chain::address::ss58(&p.account),
		model = %p.model.name,
		parameters = p.model.parameter_count(),
		device = %args.peer.device,
		eval_sequences = args.eval_sequences,
		"validator starting"
	);
	let state_path =
		args.state.unwrap_or_else(|| args.peer.checkpoint_dir.join("gauntlet-state.json"));
	let options = ValidatorOptions {
		endpoints: p.endpoints,
		stall: p.stall,
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
	};
	validator::run(options, replica, p.shard, p.report).await?;
	Ok(())
}
