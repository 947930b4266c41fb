//! Queries of the window protocol's on-chain state at a given finalized block: a window's seed,
//! its aggregation set, its commitments with each committer's storage location, its verdict, a
//! peer's location, and the protocol's timing constants.

use super::{AccountId, ChainError, Client, runtime};
use crate::{
	round::{Committed, Verdict, WindowRecord},
	storage::Location,
};
use std::collections::BTreeMap;

/// The protocol's timing, from the runtime's constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
	/// Blocks per window.
	pub window_length: u64,
	/// Blocks after a window ends during which its payloads are revealed.
	pub reveal_blocks: u64,
	/// Blocks after a window ends until which validators' results are accepted.
	pub score_deadline_blocks: u64,
}

impl Timing {
	/// First block of `window`.
	pub fn start(&self, window: u64) -> u64 {
		window * self.window_length
	}

	/// The window block `n` belongs to.
	pub fn window_of(&self, n: u64) -> u64 {
		n / self.window_length
	}

	/// First block after `window`'s reveal period (its outer step is applied from here).
	pub fn reveal_end(&self, window: u64) -> u64 {
		self.start(window + 1) + self.reveal_blocks
	}

	/// The block that closes `window`'s scoring period and publishes its verdict; results must
	/// be included before it.
	pub fn score_deadline(&self, window: u64) -> u64 {
		self.start(window + 1) + self.score_deadline_blocks
	}
}

/// Reads the timing constants.
pub async fn timing(client: &Client) -> Result<Timing, ChainError> {
	let at = client.at_current_block().await.map_err(ChainError::query)?;
	let constants = at.constants();
	let window_length = constants
		.entry(runtime::constants().training().window_length())
		.map_err(ChainError::query)?;
	let reveal_blocks = constants
		.entry(runtime::constants().training().reveal_blocks())
		.map_err(ChainError::query)?;
	let score_deadline_blocks = constants
		.entry(runtime::constants().training().score_deadline_blocks())
		.map_err(ChainError::query)?;
	Ok(Timing {
		window_length: window_length.into(),
		reveal_blocks: reveal_blocks.into(),
		score_deadline_blocks: score_deadline_blocks.into(),
	})
}

fn text(bytes: Vec<u8>) -> String {
	String::from_utf8_lossy(&bytes).into_owned()
}

/// The timestamp (ms since the Unix epoch) the author put in block `number`.
pub async fn timestamp(client: &Client, number: u64) -> Result<u64, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	at.storage()
		.fetch(runtime::storage().timestamp().now(), ())
		.await
		.map_err(ChainError::query)?
		.decode()
		.map_err(ChainError::query)
}

/// `who`'s storage location at block `number`, if registered.
pub async fn peer_location(
	client: &Client,
	number: u64,
	who: &AccountId,
) -> Result<Option<Location>, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let peer = at
		.storage()
		.try_fetch(runtime::storage().training().peers(), (*who,))
		.await
		.map_err(ChainError::query)?;
	let Some(peer) = peer else { return Ok(None) };
	let peer = peer.decode().map_err(ChainError::query)?;
	Ok(Some(Location {
		endpoint: text(peer.location.endpoint.0),
		bucket: text(peer.location.bucket.0),
		prefix: text(peer.location.prefix.0),
	}))
}

/// The seed of `window` at block `number`, if the window is retained.
pub async fn window_seed(
	client: &Client,
	number: u64,
	window: u64,
) -> Result<Option<[u8; 32]>, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let info = at
		.storage()
		.try_fetch(runtime::storage().training().windows(), (window,))
		.await
		.map_err(ChainError::query)?;
	info.map(|i| i.decode().map(|i| i.seed.0).map_err(ChainError::query)).transpose()
}

/// The aggregation set of `window` at block `number`, in on-chain order (empty when the window
/// is unknown or pruned).
pub async fn aggregation_set(
	client: &Client,
	number: u64,
	window: u64,
) -> Result<Vec<[u8; 32]>, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let set = at
		.storage()
		.try_fetch(runtime::storage().training().aggregation_sets(), (window,))
		.await
		.map_err(ChainError::query)?;
	Ok(match set {
		Some(set) => set.decode().map_err(ChainError::query)?.0.into_iter().map(|a| a.0).collect(),
		None => Vec::new(),
	})
}

/// Every commitment of `window` at block `number`, in commit order (block, then account),
/// with each committer's storage location.
pub async fn commitments(
	client: &Client,
	number: u64,
	window: u64,
) -> Result<Vec<Committed>, ChainError> {
	commitments_located(client, number, window, &mut BTreeMap::new()).await
}

/// [`commitments`], looking locations up in `known` first (and adding what it reads there), for
/// callers that ask every block.
pub async fn commitments_located(
	client: &Client,
	number: u64,
	window: u64,
	known: &mut BTreeMap<[u8; 32], Option<Location>>,
) -> Result<Vec<Committed>, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let mut entries = at
		.storage()
		.iter(runtime::storage().training().commitments(), (window,))
		.await
		.map_err(ChainError::query)?;
	let mut found = Vec::new();
	while let Some(entry) = entries.next().await {
		let entry = entry.map_err(ChainError::query)?;
		let (_, account) =
			entry.key().map_err(ChainError::query)?.decode().map_err(ChainError::query)?;
		let c = entry.value().decode().map_err(ChainError::query)?;
		found.push((account, c));
	}
	let mut out = Vec::with_capacity(found.len());
	for (account, c) in found {
		let location = match known.get(&account.0) {
			Some(l) => l.clone(),
			None => {
				let l = peer_location(client, number, &account).await?;
				known.insert(account.0, l.clone());
				l
			},
		};
		out.push(Committed {
			account: account.0,
			payload_hash: c.payload_hash.0,
			payload_len: c.payload_len,
			committed_at: c.committed_at.into(),
			location,
		});
	}
	out.sort_by_key(|c| (c.committed_at, c.account));
	Ok(out)
}

/// The newest window at block `number`.
pub async fn current_window(client: &Client, number: u64) -> Result<u64, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	at.storage()
		.fetch(runtime::storage().training().current_window(), ())
		.await
		.map_err(ChainError::query)?
		.decode()
		.map_err(ChainError::query)
}

/// `who`'s incentive weight at block `number`, in parts per billion.
pub async fn incentive_weight(
	client: &Client,
	number: u64,
	who: &[u8; 32],
) -> Result<u32, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let weight = at
		.storage()
		.try_fetch(runtime::storage().training().incentive_weights(), (AccountId::from(*who),))
		.await
		.map_err(ChainError::query)?;
	Ok(match weight {
		Some(w) => w.decode().map_err(ChainError::query)?.0,
		None => 0,
	})
}

/// What the chain records about `window` at block `number`: its aggregation set and its
/// commitments.
pub async fn window_record(
	client: &Client,
	number: u64,
	window: u64,
) -> Result<WindowRecord, ChainError> {
	Ok(WindowRecord {
		window,
		set: aggregation_set(client, number, window).await?,
		commitments: commitments(client, number, window).await?,
	})
}

/// The published verdict of `window` at block `number`, if its scoring period has closed (and
/// the window is retained).
pub async fn verdict(
	client: &Client,
	number: u64,
	window: u64,
) -> Result<Option<Verdict>, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let v = at
		.storage()
		.try_fetch(runtime::storage().training().verdicts(), (window,))
		.await
		.map_err(ChainError::query)?;
	let Some(v) = v else { return Ok(None) };
	let v = v.decode().map_err(ChainError::query)?;
	Ok(Some(Verdict {
		window,
		scores: v.scores.0.into_iter().map(|(a, p)| (a.0, p.0)).collect(),
		inclusion: v.inclusion.0.into_iter().map(|a| a.0).collect(),
		theta_hash: v.theta_hash.0,
		validators: v.validators,
	}))
}
