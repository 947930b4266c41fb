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
	}
}
