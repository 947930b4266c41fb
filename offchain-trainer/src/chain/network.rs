//! Queries of the window protocol's on-chain state at a given finalized block: a window's seed,
//! its aggregation set with each member's commitment and storage location, a peer's location,
//! and the protocol's timing constants.

use super::{AccountId, ChainError, Client, runtime};
use crate::{outer::Member, storage::Location};

/// The protocol's timing, from the runtime's constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
	/// Blocks per window.
	pub window_length: u64,
	/// Blocks after a window ends during which its payloads are revealed.
	pub reveal_blocks: u64,
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
	Ok(Timing { window_length: window_length.into(), reveal_blocks: reveal_blocks.into() })
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

/// The aggregation set of `window` at block `number`, in on-chain order, with each member's
/// commitment and location.
pub async fn members(client: &Client, number: u64, window: u64) -> Result<Vec<Member>, ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let set = at
		.storage()
		.try_fetch(runtime::storage().training().aggregation_sets(), (window,))
		.await
		.map_err(ChainError::query)?;
	let set = match set {
		Some(set) => set.decode().map_err(ChainError::query)?.0,
		None => Vec::new(),
	};
	let mut members = Vec::with_capacity(set.len());
	for account in set {
		let commitment = at
			.storage()
			.try_fetch(runtime::storage().training().commitments(), (window, account))
			.await
			.map_err(ChainError::query)?
			.map(|c| c.decode().map_err(ChainError::query))
			.transpose()?
			.map(|c| (c.payload_hash.0, c.payload_len));
		let location = peer_location(client, number, &account).await?;
		members.push(Member { account: account.0, commitment, location });
	}
	Ok(members)
}
