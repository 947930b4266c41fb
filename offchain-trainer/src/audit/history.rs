//! Reading the past: a window the chain has pruned is still in the state of the blocks from
//! its opening until its pruning, and an archive node keeps every block's state. Here: finding
//! the last block at which a window's records were still kept ([`last_block_with`], a binary
//! search over block numbers), and telling an auditor plainly when the node has discarded the
//! state asked for (it is not an archive node).

use tessera_chain::{ChainError, Client, network};

/// What a node answers when asked for a block whose state it has discarded
/// (`sc-client-db`'s "State already discarded for …").
const DISCARDED: &str = "State already discarded";

/// Why the past could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
	/// The node no longer holds the state of the block asked for.
	#[error(
		"the node at {url} no longer holds the state of block {block}: it is not an archive node. \
		 Ask an archive node (`tessera-node --state-pruning archive`, or `audit --db` on one's \
		 database){what}"
	)]
	NotArchive {
		/// The node asked.
		url: String,
		/// The block whose state is gone.
		block: u64,
		/// What that block was needed for.
		what: String,
	},
	/// The block is newer than the newest finalized one.
	#[error("block {block} is not finalized yet (the newest finalized block is {newest})")]
	Future {
		/// The block asked for.
		block: u64,
		/// The newest finalized block.
		newest: u64,
	},
	/// Another failure reading the chain.
	#[error(transparent)]
	Chain(ChainError),
}

impl HistoryError {
	/// `e`, read as [`HistoryError::NotArchive`] when the node says the state of `block` is
	/// gone.
	pub fn from_chain(e: ChainError, url: &str, block: u64, what: &str) -> Self {
		if e.to_string().contains(DISCARDED) {
			Self::NotArchive { url: url.into(), block, what: what.into() }
		} else {
			Self::Chain(e)
		}
	}
}

/// Checks that block `block` (at most `newest`) still has its state on the node at `url`.
pub async fn check_block(
	client: &Client,
	url: &str,
	newest: u64,
	block: u64,
) -> Result<(), HistoryError> {
	if block > newest {
		return Err(HistoryError::Future { block, newest });
	}
	network::current_window(client, block)
		.await
		.map(|_| ())
		.map_err(|e| HistoryError::from_chain(e, url, block, ""))
}

/// The last block at or below `newest` at which `window`'s records are in state (the block
/// before the one that pruned them, or `newest` while they are kept); `None` when the window
/// never opened. From `newest` it steps back 1, 2, 4, … blocks while the window is already
/// pruned, then bisects the last step: a window is kept from its opening until its pruning and
/// never again, so "opened and pruned" holds on a suffix of the chain. Only blocks since the
/// pruning (and at most as many again) are read: a window pruned recently is found on a node
/// that keeps only recent state.
pub async fn last_block_with(
	client: &Client,
	url: &str,
	newest: u64,
	window: u64,
) -> Result<Option<u64>, HistoryError> {
	let what = format!(" to read window {window}, which the chain has pruned since");
	let err = |block: u64| {
		let what = what.clone();
		move |e: ChainError| HistoryError::from_chain(e, url, block, &what)
	};
	if window == 0 {
		return Ok(None);
	}
	if network::is_retained(client, newest, window).await.map_err(err(newest))? {
		return Ok(Some(newest));
	}
	if network::current_window(client, newest).await.map_err(err(newest))? < window {
		return Ok(None);
	}
	// `pruned(b)`: the window had opened by block b and was gone again.
	let pruned = |b: u64| async move {
		let opened = network::current_window(client, b).await.map_err(err(b))? >= window;
		let kept = network::is_retained(client, b, window).await.map_err(err(b))?;
		Ok::<_, HistoryError>(opened && !kept)
	};
	// Step back until a block where it is not (yet) pruned: `hi` pruned, `lo` not.
	let mut hi = newest;
	let mut step = 1u64;
	let mut lo = loop {
		let b = hi.saturating_sub(step);
		if b == hi {
			return Ok(None); // pruned at block 0: never kept
		}
		if !pruned(b).await? {
			break b;
		}
		hi = b;
		step = step.saturating_mul(2);
	};
	while hi - lo > 1 {
		let mid = lo + (hi - lo) / 2;
		if pruned(mid).await? {
			hi = mid;
		} else {
			lo = mid;
		}
	}
	// `lo` is the last block before the pruning; the window is kept there unless it never was.
	Ok(network::is_retained(client, lo, window).await.map_err(err(lo))?.then_some(lo))
}

/// The oldest window kept at block `number`, when any is: the kept windows are the newest
/// ones, so a binary search over `1..=current` finds it.
pub async fn oldest_kept(client: &Client, number: u64) -> Result<Option<u64>, ChainError> {
	let current = network::current_window(client, number).await?;
	if current == 0 || !network::is_retained(client, number, current).await? {
		return Ok(None);
	}
	let (mut lo, mut hi) = (1u64, current);
	while lo < hi {
		let mid = lo + (hi - lo) / 2;
		if network::is_retained(client, number, mid).await? {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	Ok(Some(lo))
}
