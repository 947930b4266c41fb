//! The wall clock as the protocol machines read it: milliseconds since the Unix epoch (the
//! clock of block timestamps), the `Instant` of such a moment for local deadlines, and where
//! the chain is now after long work that followed no blocks.

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

/// The newest finalized block and its timestamp, asked for by a miner when training (which
/// followed no blocks) ends: its machine then judges whether the commitment still has time from
/// where the chain is, not from a prediction made before the chain slowed down (which would drop
/// a commitment whose window is still open). `None` when the node does not answer (logged): the
/// prediction then stands.
pub async fn newest_block(client: &tessera_chain::Client) -> Option<(u64, Millis)> {
	match tessera_chain::network::newest_block_time(client).await {
		Ok(newest) => newest,
		Err(e) => {
			tracing::warn!(error = %e, "newest block not known: deadlines from the prediction");
			None
		},
	}
}
