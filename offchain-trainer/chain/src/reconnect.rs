//! Keeping a peer's chain loop alive across lost connections (a node restart, a dropped RPC
//! link, a node gone silent): a [`Session`] runs on the endpoint in use until it is done or
//! its connection fails; [`run`] then moves it to its next endpoint ([`crate::endpoints`]) and
//! opens a new session after a wait that doubles with every failure in a row that made no
//! progress, up to [`MAX_WAIT_FACTOR`] times the first. It never gives up on a connection: a
//! peer outlives any node going away. The peer's state lives in the session's owner, so it
//! survives every reconnection.

use crate::Endpoints;
use std::{future::Future, time::Duration};

/// One connection's worth of a peer's work.
pub trait Session {
	/// What ends a session.
	type Error: std::fmt::Display;
	/// Works on the endpoint in use until done (`Ok`) or until something fails.
	fn session(&mut self) -> impl Future<Output = Result<(), Self::Error>>;
	/// Finalized blocks processed so far (all sessions): progress resets the failure count.
	fn blocks(&self) -> u64;
	/// Whether `error` is the connection's (worth reconnecting for).
	fn is_connection(error: &Self::Error) -> bool;
	/// The endpoints the sessions use.
	fn endpoints(&mut self) -> &mut Endpoints;
}

/// The first wait before reconnecting.
pub const BACKOFF: Duration = Duration::from_millis(500);

/// The longest wait, as a multiple of the first (500 ms × 32 = 16 s).
pub const MAX_WAIT_FACTOR: u32 = 32;

/// The wait after `failures` failures in a row (at least one): `backoff` doubled each time,
/// at most [`MAX_WAIT_FACTOR`] times it.
pub fn wait_after(failures: u32, backoff: Duration) -> Duration {
	let doublings = failures.saturating_sub(1).min(MAX_WAIT_FACTOR.trailing_zeros());
	backoff * (1u32 << doublings)
}

/// Runs `peer`'s sessions until one is done or fails with an error reconnecting cannot mend;
/// after a connection failure the next endpoint is used, after [`wait_after`].
pub async fn run<S: Session>(peer: &mut S, backoff: Duration) -> Result<(), S::Error> {
	let mut failures = 0u32;
	loop {
		let seen = peer.blocks();
		match peer.session().await {
			Ok(()) => return Ok(()),
			Err(e) if S::is_connection(&e) => {
				failures = if peer.blocks() > seen { 1 } else { failures.saturating_add(1) };
				let wait = wait_after(failures, backoff);
				let from = peer.endpoints().current().to_string();
				let to = peer.endpoints().advance().to_string();
				tracing::warn!(error = %e, %from, %to, attempt = failures, ?wait, "chain connection lost; reconnecting");
				tokio::time::sleep(wait).await;
			},
			Err(e) => return Err(e),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Fails with a connection error `fail` times (making progress when `progress`), then ends;
	/// notes the endpoint of every session.
	struct Flaky {
		fail: u32,
		progress: bool,
		blocks: u64,
		endpoints: Endpoints,
		used: Vec<String>,
	}

	impl Flaky {
		fn new(fail: u32, progress: bool) -> Self {
			let endpoints = Endpoints::new(["ws://a:1", "ws://b:2"]).unwrap();
			Self { fail, progress, blocks: 0, endpoints, used: Vec::new() }
		}
	}

	impl Session for Flaky {
		type Error = String;
		async fn session(&mut self) -> Result<(), String> {
			self.used.push(self.endpoints.current().to_string());
			if self.fail == 0 {
				return Ok(());
			}
			self.fail -= 1;
			if self.progress {
				self.blocks += 1;
			}
			Err(if self.fail == 100 { "bad payload".into() } else { "connection reset".into() })
		}
		fn blocks(&self) -> u64 {
			self.blocks
		}
		fn is_connection(e: &String) -> bool {
			e.contains("connection")
		}
		fn endpoints(&mut self) -> &mut Endpoints {
			&mut self.endpoints
		}
	}

	#[tokio::test]
	async fn connection_failures_move_to_the_next_endpoint_and_never_give_up() {
		let quick = Duration::from_millis(1);
		// Long after the ten attempts a peer used to give up after, with no progress at all.
		let mut stuck = Flaky::new(25, false);
		assert_eq!(run(&mut stuck, quick).await, Ok(()));
		assert_eq!(stuck.used.len(), 26);
		assert!(stuck.used.iter().step_by(2).all(|u| u == "ws://a:1"), "{:?}", stuck.used);
		assert!(stuck.used.iter().skip(1).step_by(2).all(|u| u == "ws://b:2"), "{:?}", stuck.used);
		// A failure reconnecting cannot mend ends the loop with it.
		let mut broken = Flaky::new(101, false);
		assert_eq!(run(&mut broken, quick).await, Err("bad payload".into()));
	}

	#[test]
	fn the_wait_doubles_per_failure_and_is_bounded() {
		let b = Duration::from_millis(500);
		let waits: Vec<u64> = (1..=8).map(|f| wait_after(f, b).as_millis() as u64).collect();
		assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 16000, 16000, 16000]);
		assert_eq!(wait_after(u32::MAX, b), Duration::from_secs(16));
		assert_eq!(wait_after(0, b), b);
	}
}
