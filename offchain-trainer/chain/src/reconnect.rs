//! Keeping a peer's chain loop alive across lost connections (a node restart, a dropped RPC
//! link): a [`Session`] runs until it is done or its connection fails; [`run`] opens a new one
//! with exponential backoff, and gives up only after `attempts` failures in a row that made no
//! progress. The peer's state lives in the session's owner, so it survives every reconnection.

use std::{future::Future, time::Duration};

/// One connection's worth of a peer's work.
pub trait Session {
	/// What ends a session.
	type Error: std::fmt::Display;
	/// Works until done (`Ok`) or until something fails.
	fn session(&mut self) -> impl Future<Output = Result<(), Self::Error>>;
	/// Finalized blocks processed so far (all sessions): progress resets the failure count.
	fn blocks(&self) -> u64;
	/// Whether `error` is the connection's (worth reconnecting for).
	fn is_connection(error: &Self::Error) -> bool;
}

/// How the loop ended.
#[derive(Debug)]
pub enum Ended<E> {
	/// The work is done.
	Done,
	/// A failure that reconnecting cannot mend.
	Failed(E),
	/// The connection failed `attempts` times in a row.
	GaveUp {
		/// Failures in a row.
		attempts: u32,
		/// The last one.
		last: E,
	},
}

/// The first wait before reconnecting; it doubles with every failure in a row, up to 32×.
pub const BACKOFF: Duration = Duration::from_millis(500);

/// Runs `peer`'s sessions until done, reconnecting after connection failures with `backoff`
/// (doubling) between attempts.
pub async fn run<S: Session>(peer: &mut S, attempts: u32, backoff: Duration) -> Ended<S::Error> {
	let mut failures = 0u32;
	loop {
		let seen = peer.blocks();
		match peer.session().await {
			Ok(()) => return Ended::Done,
			Err(e) if S::is_connection(&e) => {
				failures = if peer.blocks() > seen { 1 } else { failures + 1 };
				if failures >= attempts {
					return Ended::GaveUp { attempts: failures, last: e };
				}
				let wait = backoff * (1u32 << failures.min(5));
				tracing::warn!(error = %e, attempt = failures, ?wait, "chain connection lost; reconnecting");
				tokio::time::sleep(wait).await;
			},
			Err(e) => return Ended::Failed(e),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Fails with a connection error `fail` times (making progress when `progress`), then ends.
	struct Flaky {
		fail: u32,
		progress: bool,
		blocks: u64,
	}

	impl Session for Flaky {
		type Error = String;
		async fn session(&mut self) -> Result<(), String> {
			if self.fail == 0 {
				return Ok(());
			}
			self.fail -= 1;
			if self.progress {
				self.blocks += 1;
			}
			Err("connection reset".into())
		}
		fn blocks(&self) -> u64 {
			self.blocks
		}
		fn is_connection(e: &String) -> bool {
			e.contains("connection")
		}
	}

	#[tokio::test]
	async fn progress_resets_the_count_and_stalls_give_up() {
		let quick = Duration::from_millis(1);
		let mut steady = Flaky { fail: 5, progress: true, blocks: 0 };
		assert!(matches!(run(&mut steady, 3, quick).await, Ended::Done));
		let mut stuck = Flaky { fail: 5, progress: false, blocks: 0 };
		assert!(matches!(run(&mut stuck, 3, quick).await, Ended::GaveUp { attempts: 3, .. }));
	}
}
