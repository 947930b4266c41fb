//! Collecting a miner's own old payloads (issue 19 item 3): a joiner replays from a checkpoint
//! the chain keeps, so a payload goes once no kept checkpoint's replay can need it — or once the
//! chain pruned its window — a bounded batch per upload, in the background.

use super::Miner;
use tessera_chain::{self as chain, Client};
use tessera_store::{ObjectStore, gradient_key};

/// Most payload keys deleted per window.
const GC_BATCH: u64 = 64;

/// The newest window whose payload no joiner can need when `window` is uploaded: at most
/// `payload_windows()` before it, and no later than the oldest checkpoint the chain keeps
/// (replays start there); without a checkpoint, only what the chain pruned.
fn gc_limit(window: u64, oldest_kept: Option<u64>, history: &crate::run::History) -> u64 {
	let pruned = window.saturating_sub(history.retain_windows);
	let needed = match oldest_kept {
		Some(c) => c.min(window.saturating_sub(history.payload_windows())),
		None => pruned,
	};
	needed.max(pruned)
}

impl Miner {
	/// Deletes, in the background, the own payloads no joiner can need any more: a joiner
	/// replays from a checkpoint the chain keeps, so windows up to the oldest kept checkpoint's
	/// (and at least `payload_windows()` before `window`) go, and so does anything the chain
	/// no longer holds (older than `retain_windows`). At most [`GC_BATCH`] keys per window,
	/// from where the last collection stopped (after a restart: one batch back).
	pub(super) fn delete_old_payloads(&self, client: &Client, window: u64) {
		let history = self.options.follow.history;
		let (store, account, client) = (self.store.clone(), self.account.0, client.clone());
		let next = self.gc_next.clone();
		tokio::spawn(tracing::Instrument::in_current_span(async move {
			use std::sync::atomic::Ordering;
			let oldest_kept = match chain::network::oldest_kept_checkpoint(&client).await {
				Ok(w) => w,
				Err(e) => {
					tracing::debug!(window, error = %e, "old payloads not collected this window");
					return;
				},
			};
			let limit = gc_limit(window, oldest_kept, &history);
			let from = match next.load(Ordering::Relaxed) {
				0 => limit.saturating_sub(GC_BATCH).max(1),
				from => from,
			};
			let to = limit.min(from.saturating_add(GC_BATCH - 1));
			for old in from..=to {
				if let Err(e) = store.delete(&gradient_key(old, &account)).await {
					tracing::warn!(old_window = old, error = %e, "cannot delete an old payload");
					return;
				}
				next.store(old + 1, Ordering::Relaxed);
			}
		}));
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Issue 19 item 3: payloads go once no kept checkpoint's replay can need them, and never
	/// while the chain still holds their window without a checkpoint after it.
	#[test]
	fn payloads_go_once_no_kept_checkpoints_replay_needs_them() {
		let h =
			crate::run::History { retain_windows: 8, checkpoint_interval: 2, checkpoints_kept: 2 };
		assert_eq!(h.payload_windows(), 6);
		// Checkpoints kept: 6 and 8; uploading 10 may drop up to min(6, 10 − 6) = 4.
		assert_eq!(gc_limit(10, Some(6), &h), 4);
		// Recording lags (the oldest kept is 2): only what the replay from 2 does not need.
		assert_eq!(gc_limit(10, Some(2), &h), 2);
		// No checkpoint at all: only the windows the chain no longer holds.
		assert_eq!(gc_limit(10, None, &h), 2);
		assert_eq!(gc_limit(5, None, &h), 0);
		// Whatever the checkpoints, a pruned window cannot be replayed.
		assert_eq!(gc_limit(20, Some(2), &h), 12);
	}
}
