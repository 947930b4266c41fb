//! `offchain-trainer miner`: its options, and the miner built from them.

use crate::peer::{PeerArgs, peer, summary};

/// Options of `offchain-trainer miner`.
#[derive(Debug, clap::Args)]
#[command(args_override_self = true)]
pub(crate) struct MinerArgs {
	#[command(flatten)]
	pub(crate) peer: PeerArgs,
	/// An adversary's behaviour, for testing the Gauntlet: nan, noise, copy-exact:<victim>,
	/// copy-perturbed:<victim>, late, early, no-upload, wrong-hash.
	#[arg(long, default_value = "honest", hide = true)]
	behaviour: tessera_peer::miner::Behaviour,
}

pub(crate) async fn run(args: MinerArgs) -> anyhow::Result<()> {
	use tessera_peer::miner::{self, MinerOptions};
	use tessera_peer::replica::Replica;
	let p = peer(&args.peer).await?;
	// The inner optimizer, k and the value coding are the run's (on chain), not the miner's to
	// choose.
	let compress = tessera_codec::CompressConfig {
		k: p.network.rules.k,
		quantise: p.network.rules.quantised,
		max_value: p.network.rules.max_value,
		..Default::default()
	};
	let replica = Replica::new(
		&p.model,
		&tessera_model::model_device(&args.peer.device)?,
		p.network.adamw,
		p.network.inner,
		compress,
		args.peer.threads,
	)?;
	eprintln!("{}", summary("miner", &args.peer, &p));
	tracing::info!(
		account = %tessera_chain::address::ss58(&p.account),
		model = %p.model.name,
		parameters = p.model.parameter_count(),
		device = %args.peer.device,
		store = ?p.location,
		behaviour = args.behaviour.name(),
		"miner starting"
	);
	let progress = tessera_peer::progress::add(indicatif::ProgressBar::new(0));
	let options = MinerOptions {
		endpoints: p.endpoints,
		stall: p.stall,
		signer: p.signer,
		location: p.location,
		follow: p.follow,
		until_window: args.peer.until_window,
		behaviour: args.behaviour,
	};
	miner::run(options, replica, p.shard, p.report, progress).await?;
	Ok(())
}
