//! The wall clock as the protocol machines read it: milliseconds since the Unix epoch (the
//! clock of block timestamps), and the `Instant` of such a moment for local deadlines.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tessera_protocol::Millis;

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> Millis {
	SystemTime::now()
		.duration_since(UNIX_EPOCH)
		.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The `Instant` of the wall-clock moment `at` (now, if it is past).
pub fn instant_of(at: Millis) -> Instant {
	Instant::now() + Duration::from_millis(at.saturating_sub(now_ms()))
}

/// A duration in whole milliseconds.
pub fn ms(d: Duration) -> u64 {
	u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
