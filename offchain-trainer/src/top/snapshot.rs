//! One refresh of `top`: everything it shows, read from the chain at the newest finalized
//! block (and the local report, when given).

use super::own::Own;
use crate::audit::query::dev_names;
use std::path::Path;
use tessera_chain::{ChainError, Client, address, network};
use tessera_protocol::Phase;

/// A window still in play, and where it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InPlay {
	/// The window.
	pub window: u64,
	/// Its phase at the block read.
	pub phase: Phase,
	/// Blocks still to come in the phase (after the block read).
	pub blocks_left: u64,
}

/// One registered peer.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerRow {
	/// SS58 address.
	pub account: String,
	/// A dev-key name, when it is one.
	pub name: Option<String>,
	/// `miner` or `validator`.
	pub role: &'static str,
	/// Committed in the open window.
	pub committed: bool,
	/// Its score in the newest settled window's verdict.
	pub score: Option<f64>,
	/// Its update was applied in that window.
	pub applied: bool,
	/// What that window paid it, in base units.
	pub earned: u128,
	/// Incentive weight, in `[0, 1]`.
	pub incentive: f64,
	/// Asked to leave.
	pub leaving: bool,
}

/// How the validators' θ hashes for the newest settled window compare with its verdict's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreement {
	/// The window.
	pub window: u64,
	/// The verdict's θ hash (hex), when it binds.
	pub theta_hash: Option<String>,
	/// Validators that submitted, and of them those whose θ hash is the verdict's.
	pub submitted: usize,
	/// Of them, those that agree.
	pub agreeing: usize,
}

/// Everything one refresh shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
	/// The node's URL.
	pub url: String,
	/// The newest finalized block.
	pub block: u64,
	/// Milliseconds between the last two blocks, when known.
	pub block_ms: Option<u64>,
	/// The open window.
	pub window: u64,
	/// The open window and the earlier ones not yet settled, newest first.
	pub in_play: Vec<InPlay>,
	/// The newest settled window, if any.
	pub settled: Option<u64>,
	/// Every registered peer: validators first, then miners, each by address.
	pub peers: Vec<PeerRow>,
	/// θ agreement in the newest settled window.
	pub agreement: Option<Agreement>,
	/// The local peer's progress (`--report`), or why it could not be read.
	pub own: Option<Result<Own, String>>,
	/// The chain's θ hash (hex) after the window the local peer last applied, once its verdict
	/// binds: that window and the hash.
	pub own_chain_theta: Option<(u64, Option<String>)>,
}

/// Reads a snapshot from `client` (connected to `url`) at the newest finalized block, with the
/// local report at `report` if given.
pub async fn read(
	client: &Client,
	url: &str,
	report: Option<&Path>,
) -> Result<Snapshot, ChainError> {
	let block = network::newest_finalized(client).await?;
	let window = network::current_window(client, block).await?;
	let timing = network::timing_at(client, block).await?;
	let block_ms = match network::previous_block_time(client).await? {
		Some((previous, at)) if previous + 1 == block => {
			let now = network::timestamp(client, block).await?;
			now.checked_sub(at)
		},
		_ => None,
	};
	// The open window and the earlier ones still revealing or being scored.
	let mut in_play = Vec::new();
	let mut settled = None;
	for w in (1..=window).rev().take(8) {
		let phase = timing.phase(w, block);
		let ends = match phase {
			Phase::Open => timing.reveal_start(w),
			Phase::Reveal => timing.reveal_end(w),
			Phase::Scoring => timing.score_deadline(w),
			Phase::Future | Phase::Settled => {
				if phase == Phase::Settled {
					settled = Some(w);
				}
				break;
			},
		};
		// `block` is sealed: the phase's blocks still to come run to `ends - 1`.
		in_play.push(InPlay { window: w, phase, blocks_left: ends.saturating_sub(block + 1) });
	}
	let verdict = match settled {
		Some(w) => network::verdict(client, block, w).await?,
		None => None,
	};
	let committed: Vec<[u8; 32]> = if window >= 1 {
		network::commitments(client, block, window).await?.iter().map(|c| c.account).collect()
	} else {
		Vec::new()
	};
	let names = dev_names();
	let mut peers = Vec::new();
	for peer in network::registered_peers(client, block).await? {
		let who = peer.account;
		let ss58 = address::ss58(&who);
		let score = verdict
			.as_ref()
			.and_then(|v| v.scores.iter().find(|(p, _)| *p == who))
			.map(|(_, s)| f64::from(*s) / 1e9);
		let earned = match settled {
			Some(w) => network::earnings(client, block, w, &who).await?,
			None => 0,
		};
		peers.push(PeerRow {
			name: names.get(&ss58).cloned(),
			account: ss58,
			role: peer.role,
			committed: committed.contains(&who),
			score,
			applied: verdict.as_ref().is_some_and(|v| v.inclusion.contains(&who)),
			earned,
			incentive: f64::from(peer.incentive_weight) / 1e9,
			leaving: peer.leaving,
		});
	}
	peers.sort_by(|a, b| b.role.cmp(a.role).then_with(|| a.account.cmp(&b.account)));
	let agreement = match (settled, &verdict) {
		(Some(w), Some(v)) => {
			let thetas = network::submitted_thetas(client, block, w).await?;
			let binding = v.is_binding().then_some(v.theta_hash);
			Some(Agreement {
				window: w,
				theta_hash: binding.map(hex::encode),
				submitted: thetas.len(),
				agreeing: thetas.iter().filter(|(_, t)| Some(*t) == binding).count(),
			})
		},
		_ => None,
	};
	let own = report
		.map(|path| Own::read(path).map_err(|e| format!("cannot read {}: {e}", path.display())));
	let own_chain_theta = match own.as_ref().and_then(|o| o.as_ref().ok()?.applied.as_ref()) {
		Some((w, _, _)) => {
			let v = network::verdict(client, block, *w).await?;
			v.map(|v| (*w, v.is_binding().then(|| hex::encode(v.theta_hash))))
		},
		None => None,
	};
	Ok(Snapshot {
		url: url.into(),
		block,
		block_ms,
		window,
		in_play,
		settled,
		peers,
		agreement,
		own,
		own_chain_theta,
	})
}
