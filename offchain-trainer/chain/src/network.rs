//! Queries of the window protocol's on-chain state at a given finalized block: a window's seed,
//! its aggregation set, its commitments with each committer's storage location, its verdict and
//! the validators' submissions, a peer's location, and the protocol's timing constants.

use super::{AccountId, ChainError, Client, runtime};
use crate::record::{Committed, Verdict, WindowRecord};
use tessera_store::Location;

/// The protocol's timing (window phases), read from the chain by [`timing_at`].
pub use tessera_protocol::{Era, Timing};

/// The window timing at the newest finalized block ([`timing_at`]).
pub async fn timing(client: &Client) -> Result<Timing, ChainError> {
	let newest = client.at_current_block().await.map_err(ChainError::query)?.block_number();
	timing_at(client, newest).await
}

/// The window timing, read from the chain again only once the window open when it was read has
/// ended. Nothing a peer does before the next window opens depends on that window's length (the
/// open window's end, its reveal and scoring periods and the previous window's are fixed), and
/// the chain puts scheduled parameters in force only when a window opens: so reading once per
/// window is as good as reading every block, at a fraction of the queries.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimingCache {
	/// The block it was read at, the first block it may no longer hold for, and the timing.
	cached: Option<(u64, u64, Timing)>,
}

impl TimingCache {
	/// The timing at block `number` (read from the chain when the cached one may be stale).
	pub async fn at(&mut self, client: &Client, number: u64) -> Result<Timing, ChainError> {
		if let Some((read, below, timing)) = self.cached
			&& read <= number
			&& number < below
		{
			return Ok(timing);
		}
		let timing = timing_at(client, number).await?;
		let below = timing.start(timing.window_of(number) + 1);
		self.cached = Some((number, below, timing));
		Ok(timing)
	}
}

/// The window timing at block `number`: the timing the window being scored and the open
/// window opened with (`pallet-training`'s `Windows` records), and the next window's (the
/// parameters scheduled for it, else those in force), which opens at the schedule's
/// `next_open`. The chain changes its parameters only when a window opens, so a peer that
/// reads this every block always knows the timing of every window whose phases matter.
pub async fn timing_at(client: &Client, number: u64) -> Result<Timing, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let storage = at.storage();
	let training = runtime::storage().training();
	let current: u64 = storage
		.fetch(training.current_window(), ())
		.await
		.map_err(ChainError::query)?
		.decode()
		.map_err(ChainError::query)?;
	let schedule = storage
		.fetch(training.window_schedule(), ())
		.await
		.map_err(ChainError::query)?
		.decode()
		.map_err(ChainError::query)?;
	let in_force = storage
		.try_fetch(training.parameters(), ())
		.await
		.map_err(ChainError::query)?
		.ok_or_else(|| ChainError::Query("the chain records no window parameters".into()))?
		.decode()
		.map_err(ChainError::query)?;
	let pending =
		storage.try_fetch(training.pending_parameters(), ()).await.map_err(ChainError::query)?;
	let next = match pending {
		Some(p) => p.decode().map_err(ChainError::query)?,
		None => in_force,
	};
	let mut eras = Vec::with_capacity(3);
	for w in [current.saturating_sub(1), current].into_iter().filter(|w| *w >= 1) {
		let info = storage.try_fetch(training.windows(), (w,)).await.map_err(ChainError::query)?;
		if let Some(info) = info {
			let info = info.decode().map_err(ChainError::query)?;
			eras.push(Era {
				first_window: w,
				first_block: info.start_block.into(),
				window_length: info.length.into(),
				reveal_blocks: info.reveal_blocks.into(),
				score_deadline_blocks: info.score_deadline_blocks.into(),
			});
		}
	}
	eras.push(Era {
		first_window: current + 1,
		first_block: schedule.next_open.into(),
		window_length: next.window_length.into(),
		reveal_blocks: next.reveal_blocks.into(),
		score_deadline_blocks: next.score_deadline_blocks.into(),
	});
	eras.dedup_by_key(|e| e.first_window);
	Timing::from_eras(&eras)
		.map_err(|e| ChainError::Query(format!("the chain's window timing at block {number}: {e}")))
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

/// The block before the newest finalized one and its timestamp, when it has one (genesis has
/// none): a restarted peer's machines know the block interval from their first block on.
pub async fn previous_block_time(client: &Client) -> Result<Option<(u64, u64)>, ChainError> {
	let newest = client.at_current_block().await.map_err(ChainError::query)?.block_number();
	let Some(previous) = newest.checked_sub(1).filter(|&p| p >= 1) else { return Ok(None) };
	let at = timestamp(client, previous).await?;
	Ok((at != 0).then_some((previous, at)))
}

/// The newest finalized block and its timestamp, when it has one (genesis has none). A miner
/// asks when training ends: it followed no blocks meanwhile, and a chain that slowed down since
/// its last block makes the old prediction of the coming blocks too early, which would drop a
/// commitment that still has time.
pub async fn newest_block_time(client: &Client) -> Result<Option<(u64, u64)>, ChainError> {
	let newest = client.at_current_block().await.map_err(ChainError::query)?.block_number();
	if newest == 0 {
		return Ok(None);
	}
	let at = timestamp(client, newest).await?;
	Ok((at != 0).then_some((newest, at)))
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
	Ok(location_of(peer.location))
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
/// each with the storage location it was committed under (the payload is read there even after
/// the miner moved or left).
pub async fn commitments(
	client: &Client,
	number: u64,
	window: u64,
) -> Result<Vec<Committed>, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let mut entries = at
		.storage()
		.iter(runtime::storage().training().commitments(), (window,))
		.await
		.map_err(ChainError::query)?;
	let mut out = Vec::new();
	while let Some(entry) = entries.next().await {
		let entry = entry.map_err(ChainError::query)?;
		let (_, account) =
			entry.key().map_err(ChainError::query)?.decode().map_err(ChainError::query)?;
		let c = entry.value().decode().map_err(ChainError::query)?;
		out.push(Committed {
			account: account.0,
			payload_hash: c.payload_hash.0,
			payload_len: c.payload_len,
			committed_at: c.committed_at.into(),
			location: location_of(c.location),
		});
	}
	out.sort_by_key(|c| (c.committed_at, c.account));
	Ok(out)
}

/// A location as the pallet stores it; `None` when it has no bucket (a commitment migrated from
/// before locations were recorded with it, whose miner had already left).
pub(crate) fn location_of(
	l: runtime::runtime_types::pallet_training::location::StorageLocation,
) -> Option<Location> {
	(!l.bucket.0.is_empty()).then(|| Location {
		endpoint: text(l.endpoint.0),
		bucket: text(l.bucket.0),
		prefix: text(l.prefix.0),
	})
}

/// Whether `window`'s records are on chain at block `number` (opened and not yet pruned).
pub async fn is_retained(client: &Client, number: u64, window: u64) -> Result<bool, ChainError> {
	Ok(window_seed(client, number, window).await?.is_some())
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
		binding: v.binding,
	}))
}

/// What `who` was paid for `window` at block `number`, in the chain's base units (0 when nothing,
/// or the window is pruned).
pub async fn earnings(
	client: &Client,
	number: u64,
	window: u64,
	who: &[u8; 32],
) -> Result<u128, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let paid = at
		.storage()
		.try_fetch(runtime::storage().training().earnings(), (window, AccountId::from(*who)))
		.await
		.map_err(ChainError::query)?;
	paid.map_or(Ok(0), |p| p.decode().map_err(ChainError::query))
}

/// A registered peer, as the chain lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredPeer {
	/// Its account.
	pub account: [u8; 32],
	/// `miner` or `validator`.
	pub role: &'static str,
	/// It asked to leave.
	pub leaving: bool,
	/// Its incentive weight, in parts per billion (0 for validators and unscored miners).
	pub incentive_weight: u32,
}

/// Every registered peer at block `number`, by account, with its incentive weight (the
/// `Peers` and `IncentiveWeights` maps each read once).
pub async fn registered_peers(
	client: &Client,
	number: u64,
) -> Result<Vec<RegisteredPeer>, ChainError> {
	use runtime::runtime_types::pallet_training::types::Role;
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let mut weights = std::collections::BTreeMap::new();
	let mut entries = at
		.storage()
		.iter(runtime::storage().training().incentive_weights(), ())
		.await
		.map_err(ChainError::query)?;
	while let Some(entry) = entries.next().await {
		let entry = entry.map_err(ChainError::query)?;
		let (account,): (AccountId,) =
			entry.key().map_err(ChainError::query)?.decode().map_err(ChainError::query)?;
		weights.insert(account.0, entry.value().decode().map_err(ChainError::query)?.0);
	}
	let mut out = Vec::new();
	let mut entries = at
		.storage()
		.iter(runtime::storage().training().peers(), ())
		.await
		.map_err(ChainError::query)?;
	while let Some(entry) = entries.next().await {
		let entry = entry.map_err(ChainError::query)?;
		let (account,): (AccountId,) =
			entry.key().map_err(ChainError::query)?.decode().map_err(ChainError::query)?;
		let peer = entry.value().decode().map_err(ChainError::query)?;
		out.push(RegisteredPeer {
			account: account.0,
			role: match peer.role {
				Role::Miner => "miner",
				Role::Validator => "validator",
			},
			leaving: peer.leaving_at.is_some(),
			incentive_weight: weights.get(&account.0).copied().unwrap_or(0),
		});
	}
	out.sort_by_key(|p| p.account);
	Ok(out)
}

/// One validator's results for a window, as submitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
	/// The validator.
	pub validator: [u8; 32],
	/// θ after the window's outer step, by its evaluation.
	pub theta_hash: [u8; 32],
	/// Its result for each miner it scored.
	pub results: Vec<SubmittedResult>,
}

/// A validator's result for one miner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmittedResult {
	/// The miner.
	pub peer: [u8; 32],
	/// Final score, in parts per billion.
	pub final_score: u32,
	/// Gradient score, in millionths (negative: the update made the loss worse).
	pub gradient_score: i32,
	/// Gauntlet flags (`flags::names`).
	pub flags: u8,
}

/// Every validator's submission for `window` at block `number`, by validator (empty when
/// nobody submitted, or the window is pruned).
pub async fn submissions(
	client: &Client,
	number: u64,
	window: u64,
) -> Result<Vec<Submission>, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let mut entries = at
		.storage()
		.iter(runtime::storage().training().submissions(), (window,))
		.await
		.map_err(ChainError::query)?;
	let mut out = Vec::new();
	while let Some(entry) = entries.next().await {
		let entry = entry.map_err(ChainError::query)?;
		let (_, validator): (u64, AccountId) =
			entry.key().map_err(ChainError::query)?.decode().map_err(ChainError::query)?;
		let submission = entry.value().decode().map_err(ChainError::query)?;
		out.push(Submission {
			validator: validator.0,
			theta_hash: submission.theta_hash.0,
			results: submission
				.results
				.0
				.into_iter()
				.map(|r| SubmittedResult {
					peer: r.peer.0,
					final_score: r.final_score.0,
					gradient_score: r.gradient_score,
					flags: r.flags.0,
				})
				.collect(),
		});
	}
	out.sort_by_key(|s| s.validator);
	Ok(out)
}

/// Each validator's θ hash for `window` at block `number`: what its submission says θ is after
/// the window's outer step (empty when nobody submitted, or the window is pruned).
pub async fn submitted_thetas(
	client: &Client,
	number: u64,
	window: u64,
) -> Result<Vec<([u8; 32], [u8; 32])>, ChainError> {
	let all = submissions(client, number, window).await?;
	Ok(all.into_iter().map(|s| (s.validator, s.theta_hash)).collect())
}

/// A checkpoint of θ recorded on chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkCheckpoint {
	/// θ is the result of this window's outer step.
	pub window: u64,
	/// θ's hash (the window's binding verdict's).
	pub theta_hash: [u8; 32],
	/// Each copy: the validator that holds it and its store, at the documented key
	/// ([`tessera_store::checkpoint_key`]).
	pub copies: Vec<([u8; 32], Option<Location>)>,
}

/// The newest finalized block's number.
pub async fn newest_finalized(client: &Client) -> Result<u64, ChainError> {
	Ok(client.at_current_block().await.map_err(ChainError::query)?.block_number())
}

/// The checkpoint windows the chain keeps at block `number`, oldest first (one storage read,
/// no record).
pub async fn checkpoint_windows(client: &Client, number: u64) -> Result<Vec<u64>, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let windows = at
		.storage()
		.try_fetch(runtime::storage().training().checkpoint_windows(), ())
		.await
		.map_err(ChainError::query)?;
	match windows {
		Some(w) => Ok(w.decode().map_err(ChainError::query)?.0),
		None => Ok(Vec::new()),
	}
}

/// The newest checkpoint window recorded on chain at block `number` (one storage read).
pub async fn newest_checkpoint(client: &Client, number: u64) -> Result<Option<u64>, ChainError> {
	Ok(checkpoint_windows(client, number).await?.last().copied())
}

/// The oldest checkpoint window the chain keeps at the newest finalized block: a replay never
/// starts before it (one storage read).
pub async fn oldest_kept_checkpoint(client: &Client) -> Result<Option<u64>, ChainError> {
	let n = newest_finalized(client).await?;
	Ok(checkpoint_windows(client, n).await?.first().copied())
}

/// The checkpoints recorded on chain at block `number`, newest first.
pub async fn checkpoints(
	client: &Client,
	number: u64,
) -> Result<Vec<NetworkCheckpoint>, ChainError> {
	let windows = checkpoint_windows(client, number).await?;
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let mut out = Vec::with_capacity(windows.len());
	for window in windows.into_iter().rev() {
		let record = at
			.storage()
			.try_fetch(runtime::storage().training().checkpoints(), (window,))
			.await
			.map_err(ChainError::query)?;
		let Some(record) = record else { continue };
		let record = record.decode().map_err(ChainError::query)?;
		out.push(NetworkCheckpoint {
			window,
			theta_hash: record.theta_hash.0,
			copies: record
				.copies
				.0
				.into_iter()
				.map(|c| (c.validator.0, location_of(c.location)))
				.collect(),
		});
	}
	Ok(out)
}
