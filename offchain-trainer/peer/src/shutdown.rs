//! A stop the operator asked for (SIGTERM from a service manager, or Ctrl-C). The process's
//! signal handler calls [`request`]; the miner and the validator then start nothing new and
//! return once nothing they started is left half done:
//!
//! - a miner abandons its inner loop at the next inner step ([`flag`] is checked before each)
//!   and commits nothing more; a payload already committed is still uploaded in its reveal
//!   period (a commitment without its payload would be scored as missing), then it stops;
//! - a validator submits a window it has already evaluated (at that window's submission time),
//!   lets its checkpoint publications finish (at most a minute), and stops;
//! - neither waits for a new block to notice the stop once nothing is pending, and neither
//!   reconnects to its node after it;
//! - checkpoints are written atomically whenever they are written (`tessera_model::checkpoint`),
//!   so a stop never leaves half a file.

use std::sync::{
	OnceLock,
	atomic::{AtomicBool, Ordering},
};
use tokio::sync::watch;

static REQUESTED: AtomicBool = AtomicBool::new(false);

fn channel() -> &'static watch::Sender<bool> {
	static CHANNEL: OnceLock<watch::Sender<bool>> = OnceLock::new();
	CHANNEL.get_or_init(|| watch::channel(false).0)
}

/// Asks the peer to stop.
pub fn request() {
	REQUESTED.store(true, Ordering::SeqCst);
	channel().send_replace(true);
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
	REQUESTED.load(Ordering::SeqCst)
}

/// The flag long computations (the inner loop) check between their steps.
pub fn flag() -> &'static AtomicBool {
	&REQUESTED
}

/// Resolves once a stop is asked for.
pub async fn wait() {
	let mut rx = channel().subscribe();
	// The sender lives in a static: the channel never closes.
	let _ = rx.wait_for(|stop| *stop).await;
}

/// Awaits `next` (a peer's next block) unless the peer is `idle` (nothing it started still
/// waits) and a stop is asked for, before or while it waits: then `None`, at once. A busy peer
/// always gets its next block.
pub async fn unless_stopped<T>(idle: bool, next: impl Future<Output = T>) -> Option<T> {
	let value = tokio::select! {
		value = next => Some(value),
		() = wait(), if idle => None,
	};
	if idle && requested() { None } else { value }
}

#[cfg(test)]
mod tests {
	use super::*;

	#[tokio::test]
	async fn a_request_is_seen_by_waiters_and_by_the_flag() {
		let waiter = tokio::spawn(wait());
		tokio::task::yield_now().await;
		assert!(!waiter.is_finished());
		request();
		tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.unwrap().unwrap();
		assert!(requested() && flag().load(Ordering::SeqCst));
		// A waiter that comes later returns at once.
		tokio::time::timeout(std::time::Duration::from_secs(5), wait()).await.unwrap();
		// An idle peer stops instead of waiting for a block that never comes; a busy one
		// still gets its block.
		let never = std::future::pending::<u64>();
		let idle =
			tokio::time::timeout(std::time::Duration::from_secs(5), unless_stopped(true, never));
		assert_eq!(idle.await.unwrap(), None);
		assert_eq!(unless_stopped(false, async { 7 }).await, Some(7));
	}
}
