//! Follows finalized blocks and reports each `WindowOpened` event of `pallet-training`.

use crate::{ChainError, Client, runtime};
use std::ops::ControlFlow;
use subxt::utils::H256;

/// A window that opened, as seen in a finalized block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenedWindow {
	/// The window index.
	pub window: u64,
	/// Its seed (hash of the block before its first block).
	pub seed: H256,
	/// Its first block.
	pub start_block: u32,
	/// Hash of the finalized block that opened it.
	pub block_hash: H256,
}

impl std::fmt::Display for OpenedWindow {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(
			f,
			"window {} opened at block {} ({:?}) seed {:?}",
			self.window, self.start_block, self.block_hash, self.seed
		)
	}
}

/// Calls `on_window` for every window opened in a finalized block from now on, until it returns
/// `ControlFlow::Break` or the block stream fails.
pub async fn follow_windows(
	client: &Client,
	mut on_window: impl FnMut(OpenedWindow) -> ControlFlow<()>,
) -> Result<(), ChainError> {
	let mut blocks = client.stream_blocks().await.map_err(|e| ChainError::Blocks(e.to_string()))?;
	while let Some(block) = blocks.next().await {
		let block = block.map_err(|e| ChainError::Blocks(e.to_string()))?;
		for opened in windows_opened_in(client, block.number()).await? {
			if on_window(opened).is_break() {
				return Ok(());
			}
		}
	}
	Err(ChainError::Blocks("the node closed the finalized block stream".into()))
}

/// Waits until window `w` has opened in a finalized block and returns it, as read from the event
/// of the block that opened it — whether that block came before this call or after.
pub async fn wait_for_window(client: &Client, w: u64) -> Result<OpenedWindow, ChainError> {
	// Subscribe before looking at storage, so no block falls between the two.
	let mut blocks = client.stream_blocks().await.map_err(|e| ChainError::Blocks(e.to_string()))?;
	let at = client.at_current_block().await.map_err(ChainError::query)?;
	let current = at
		.storage()
		.fetch(runtime::storage().training().current_window(), ())
		.await
		.map_err(ChainError::query)?
		.decode()
		.map_err(ChainError::query)?;
	if current >= w {
		let info = at
			.storage()
			.try_fetch(runtime::storage().training().windows(), (w,))
			.await
			.map_err(ChainError::query)?
			.ok_or_else(|| ChainError::Query(format!("window {w} is no longer retained on chain")))?
			.decode()
			.map_err(ChainError::query)?;
		return windows_opened_in(client, u64::from(info.start_block))
			.await?
			.into_iter()
			.find(|o| o.window == w)
			.ok_or_else(|| ChainError::Query(format!("no WindowOpened event for window {w}")));
	}
	while let Some(block) = blocks.next().await {
		let block = block.map_err(|e| ChainError::Blocks(e.to_string()))?;
		if let Some(opened) =
			windows_opened_in(client, block.number()).await?.into_iter().find(|o| o.window >= w)
		{
			return Ok(opened);
		}
	}
	Err(ChainError::Blocks("the node closed the finalized block stream".into()))
}

/// The `WindowOpened` events of block `number`.
async fn windows_opened_in(client: &Client, number: u64) -> Result<Vec<OpenedWindow>, ChainError> {
	let at_block = |message: String| ChainError::AtBlock { number, message };
	let at = client.at_block(number).await.map_err(|e| at_block(e.to_string()))?;
	let block_hash = at.block_ref().hash();
	let events = at.events().fetch().await.map_err(|e| at_block(e.to_string()))?;
	events
		.find::<runtime::training::events::WindowOpened>()
		.map(|event| {
			let event = event.map_err(|e| at_block(e.to_string()))?;
			Ok(OpenedWindow {
				window: event.window,
				seed: event.seed,
				start_block: event.start_block,
				block_hash,
			})
		})
		.collect()
}

/// Waits for the first window after `after` to open in a finalized block. (The finalized
/// stream starts with the current block, which may have opened `after` itself.)
pub async fn next_window(client: &Client, after: u64) -> Result<OpenedWindow, ChainError> {
	let mut next = None;
	follow_windows(client, |opened| {
		if opened.window > after {
			next = Some(opened);
			ControlFlow::Break(())
		} else {
			ControlFlow::Continue(())
		}
	})
	.await?;
	next.ok_or_else(|| ChainError::Blocks("window stream ended without a window".into()))
}

/// Waits until the verdict of window `w` is in finalized storage (its scoring period closed).
pub async fn wait_for_verdict(client: &Client, w: u64) -> Result<(), ChainError> {
	let mut blocks = client.stream_blocks().await.map_err(|e| ChainError::Blocks(e.to_string()))?;
	while let Some(block) = blocks.next().await {
		let block = block.map_err(|e| ChainError::Blocks(e.to_string()))?;
		let number = block.number();
		let at = client
			.at_block(number)
			.await
			.map_err(|e| ChainError::AtBlock { number, message: e.to_string() })?;
		let verdict = at
			.storage()
			.try_fetch(runtime::storage().training().verdicts(), (w,))
			.await
			.map_err(|e| ChainError::AtBlock { number, message: e.to_string() })?;
		if verdict.is_some() {
			return Ok(());
		}
	}
	Err(ChainError::Blocks("the node closed the finalized block stream".into()))
}
