//! Reading a window's payloads from the committers' stores: [`probe`] asks whether a payload is
//! already readable (while the window still runs, that makes it *early*; after the reveal period,
//! *late*), [`fetch_all`] reads every committed payload when a reveal period was not watched
//! (a restart, a lagging watcher) and the window is applied, checks it
//! against its commitment and decodes it for the model. Every request has a deadline, so a store
//! that is down or stalls costs at most that long, concurrently for all peers.

use super::Committed;
use bytes::Bytes;
use std::{collections::BTreeMap, time::Duration};
use tessera_codec::{CodecError, Expected, Payload, Rules, decode, hash::payload_hash};
use tessera_store::{ObjectStore, Resolver, StoreError, gradient_key};

/// Why a committed update cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Exclusion {
	/// Not registered any more: no location to read from.
	#[error("no storage location")]
	NoLocation,
	/// The payload could not be fetched.
	#[error("payload not fetched: {0}")]
	Fetch(#[from] StoreError),
	/// What was read in the reveal period was not the committed payload.
	#[error("{0}")]
	Unusable(String),
	/// Not readable at any moment of the reveal period this peer watched.
	#[error("not readable during the reveal period")]
	NotRevealed,
	/// The store did not answer within the deadline.
	#[error("payload not fetched within {0:?}")]
	Deadline(Duration),
	/// The payload's hash is not the committed one.
	#[error("payload hash {got} differs from the commitment {committed}")]
	HashMismatch {
		/// Hash of the fetched bytes.
		got: String,
		/// The on-chain commitment.
		committed: String,
	},
	/// The payload does not decode for this model, window and miner.
	#[error("invalid payload: {0}")]
	Invalid(#[from] CodecError),
}

impl Exclusion {
	/// Whether nothing could be read (as opposed to something wrong being read).
	pub fn is_missing(&self) -> bool {
		match self {
			Exclusion::Fetch(StoreError::TooLarge { .. }) => false,
			Exclusion::NoLocation
			| Exclusion::Fetch(_)
			| Exclusion::Deadline(_)
			| Exclusion::NotRevealed => true,
			Exclusion::HashMismatch { .. } | Exclusion::Invalid(_) | Exclusion::Unusable(_) => {
				false
			},
		}
	}
}

/// A fetched payload: its hash (the committed one) and its decoded content.
pub type Fetched = Result<Payload, Exclusion>;

/// Fetches `c`'s payload for `window` and checks it against the commitment.
pub async fn fetch_bytes(
	resolver: &Resolver,
	window: u64,
	c: &Committed,
	max_bytes: usize,
	deadline: Duration,
) -> Result<Bytes, Exclusion> {
	let location = c.location.as_ref().ok_or(Exclusion::NoLocation)?;
	let store = resolver.open(location)?;
	fetch_checked(&store, &gradient_key(window, &c.account), c, max_bytes, deadline).await
}

/// Reads `key` from `store` and checks it against `c`'s commitment. Bytes whose hash differs
/// are read once more before the payload is judged: a transfer corrupted on the way (plain
/// http through a bad link or a meddling hop) must not mark an honest update invalid for good.
pub async fn fetch_checked(
	store: &impl ObjectStore,
	key: &str,
	c: &Committed,
	max_bytes: usize,
	deadline: Duration,
) -> Result<Bytes, Exclusion> {
	let cap = max_bytes.min(c.payload_len as usize);
	let mut got = [0u8; 32];
	for attempt in 0..2 {
		let started = std::time::Instant::now();
		let bytes = tokio::time::timeout(deadline, store.get(key, cap))
			.await
			.map_err(|_| Exclusion::Deadline(deadline))??;
		let m = crate::metrics::get();
		m.download_bytes.inc_by(bytes.len() as u64);
		m.download_seconds.inc_by(started.elapsed().as_secs_f64());
		got = payload_hash(&bytes);
		if got == c.payload_hash {
			return Ok(bytes);
		}
		if attempt == 0 {
			tracing::debug!(
				miner = %tessera_chain::address::ss58(&c.account),
				store = %store.describe(),
				"payload hash differs from the commitment: reading it once more"
			);
		}
	}
	Err(Exclusion::HashMismatch { got: hex::encode(got), committed: hex::encode(c.payload_hash) })
}

/// Decodes `c`'s payload bytes for `window` and the model's `shapes`.
pub fn decode_payload(
	window: u64,
	c: &Committed,
	bytes: &[u8],
	shapes: &[Vec<usize>],
	rules: Rules,
) -> Fetched {
	Ok(decode(bytes, &Expected { window, miner: &c.account, shapes, rules })?)
}

/// Fetches, verifies and decodes `c`'s payload for `window`.
pub async fn fetch_one(
	resolver: &Resolver,
	window: u64,
	c: &Committed,
	shapes: &[Vec<usize>],
	rules: Rules,
	deadline: Duration,
) -> Fetched {
	let max_bytes = rules.max_payload_len(shapes);
	let bytes = fetch_bytes(resolver, window, c, max_bytes, deadline).await?;
	decode_payload(window, c, &bytes, shapes, rules)
}

/// Fetches every commitment's payload concurrently; one log line per exclusion.
pub async fn fetch_all(
	resolver: &Resolver,
	window: u64,
	commitments: &[Committed],
	shapes: &[Vec<usize>],
	rules: Rules,
	deadline: Duration,
) -> BTreeMap<[u8; 32], Fetched> {
	let outcomes = futures::future::join_all(
		commitments.iter().map(|c| fetch_one(resolver, window, c, shapes, rules, deadline)),
	)
	.await;
	commitments
		.iter()
		.zip(outcomes)
		.map(|(c, outcome)| {
			if let Err(reason) = &outcome {
				tracing::warn!(window, miner = %tessera_chain::address::ss58(&c.account), %reason, "payload not usable");
			}
			(c.account, outcome)
		})
		.collect()
}

/// The accounts among `commitments` whose payload for `window` is readable now. A store that
/// fails or does not answer within `deadline` counts as "not readable".
pub async fn probe(
	resolver: &Resolver,
	window: u64,
	commitments: &[&Committed],
	deadline: Duration,
) -> Vec<[u8; 32]> {
	let checks = commitments.iter().map(|c| async move {
		let location = c.location.as_ref()?;
		let store = resolver.open(location).ok()?;
		let key = gradient_key(window, &c.account);
		match tokio::time::timeout(deadline, store.exists(&key)).await {
			Ok(Ok(true)) => Some(c.account),
			_ => None,
		}
	});
	futures::future::join_all(checks).await.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
	use super::*;
	use bytes::Bytes;
	use std::sync::atomic::{AtomicUsize, Ordering};
	use tessera_codec::{CompressConfig, Header, IndexCoding};
	use tessera_model::train::UpdateBuilder;
	use tessera_store::Location;

	pub(crate) fn shapes() -> Vec<Vec<usize>> {
		vec![vec![16, 16]]
	}

	/// The rules `update` obeys (the codec's default k and quantisation).
	pub(crate) fn rules() -> Rules {
		Rules { k: 64, quantised: true, max_value: 100.0 }
	}

	/// A real payload of `account` for `window` (values scaled by `scale`).
	pub(crate) fn update(window: u64, account: [u8; 32], scale: f32) -> Vec<u8> {
		let mut b =
			UpdateBuilder::new(&shapes(), CompressConfig::default(), IndexCoding::Rice, 1).unwrap();
		let start = vec![vec![0.0f32; 256]];
		let end = vec![(0..256).map(|i| scale * ((i % 13) as f32 - 6.0)).collect()];
		let header = Header { window, miner: account, theta_hash: [0; 32], data_digest: [0; 32] };
		b.build(&start, &end, header).unwrap().bytes
	}

	fn location(prefix: &str) -> Location {
		Location {
			endpoint: "http://127.0.0.1:1".into(),
			bucket: "tessera".into(),
			prefix: prefix.into(),
		}
	}

	#[tokio::test]
	async fn fetch_verifies_each_payload_against_its_commitment() {
		let dir = tempfile::tempdir().unwrap();
		let resolver = Resolver::Local { root: dir.path().into() };
		let window = 4;
		let honest = [1u8; 32];
		let wrong_hash = [2u8; 32];
		let missing = [3u8; 32];
		let garbage = [4u8; 32];
		let other_window = [5u8; 32];
		let mut commitments = Vec::new();
		for (account, bytes, commit_bytes) in [
			(honest, Some(update(window, honest, 1.0)), None),
			(
				wrong_hash,
				Some(update(window, wrong_hash, 1.0)),
				Some(update(window, wrong_hash, 2.0)),
			),
			(missing, None, Some(update(window, missing, 1.0))),
			(garbage, Some(b"not a payload".to_vec()), None),
			(other_window, Some(update(window + 1, other_window, 1.0)), None),
		] {
			let prefix = hex::encode(&account[..1]);
			let store = resolver.open(&location(&prefix)).unwrap();
			if let Some(bytes) = &bytes {
				store
					.put(&gradient_key(window, &account), Bytes::from(bytes.clone()))
					.await
					.unwrap();
			}
			let committed = commit_bytes.or(bytes).unwrap();
			commitments.push(Committed {
				account,
				payload_hash: payload_hash(&committed),
				payload_len: committed.len() as u32,
				committed_at: 1,
				location: Some(location(&prefix)),
			});
		}
		commitments.push(Committed {
			account: [6; 32],
			payload_hash: [0; 32],
			payload_len: 10,
			committed_at: 1,
			location: None,
		});

		let early: Vec<&Committed> = commitments.iter().collect();
		let readable = probe(&resolver, window, &early, Duration::from_secs(5)).await;
		assert_eq!(readable, vec![honest, wrong_hash, garbage, other_window]);

		let fetched =
			fetch_all(&resolver, window, &commitments, &shapes(), rules(), Duration::from_secs(5))
				.await;
		let reason =
			|a: [u8; 32]| fetched[&a].as_ref().err().map_or("ok".to_string(), |e| e.to_string());
		assert_eq!(reason(honest), "ok");
		assert!(
			reason(wrong_hash).contains("differs from the commitment"),
			"{}",
			reason(wrong_hash)
		);
		assert!(reason(missing).contains("no object"), "{}", reason(missing));
		assert!(fetched[&missing].as_ref().err().is_some_and(Exclusion::is_missing));
		assert!(reason(garbage).contains("invalid payload"), "{}", reason(garbage));
		assert!(reason(other_window).contains("invalid payload"), "{}", reason(other_window));
		assert_eq!(reason([6; 32]), "no storage location");
	}

	/// Serves `good` after `corrupt_reads` reads that flip one byte of it.
	struct FlakyLink {
		good: Bytes,
		corrupt_reads: usize,
		reads: AtomicUsize,
	}

	impl ObjectStore for FlakyLink {
		async fn put(&self, _: &str, _: Bytes) -> Result<(), StoreError> {
			Ok(())
		}
		async fn get(&self, _: &str, _: usize) -> Result<Bytes, StoreError> {
			let n = self.reads.fetch_add(1, Ordering::SeqCst);
			let mut bytes = self.good.to_vec();
			if n < self.corrupt_reads {
				bytes[7] ^= 0x40;
			}
			Ok(Bytes::from(bytes))
		}
		async fn get_with_progress(
			&self,
			key: &str,
			max: usize,
			_: &tessera_store::Progress,
		) -> Result<Bytes, StoreError> {
			self.get(key, max).await
		}
		async fn exists(&self, _: &str) -> Result<bool, StoreError> {
			Ok(true)
		}
		async fn delete(&self, _: &str) -> Result<(), StoreError> {
			Ok(())
		}
		fn describe(&self) -> String {
			"a link that corrupts the first reads".into()
		}
	}

	/// Issue 17 item 12: one corrupted transfer does not make an honest payload invalid; bytes
	/// that differ twice do.
	#[tokio::test]
	async fn a_hash_mismatch_is_read_once_more_before_judging() {
		let good = Bytes::from(update(3, [5; 32], 1.0));
		let c = Committed {
			account: [5; 32],
			payload_hash: payload_hash(&good),
			payload_len: good.len() as u32,
			committed_at: 1,
			location: None,
		};
		let deadline = Duration::from_secs(5);
		let once = FlakyLink { good: good.clone(), corrupt_reads: 1, reads: AtomicUsize::new(0) };
		assert_eq!(fetch_checked(&once, "k", &c, 1 << 20, deadline).await.unwrap(), good);
		assert_eq!(once.reads.load(Ordering::SeqCst), 2);
		let always = FlakyLink { good, corrupt_reads: 2, reads: AtomicUsize::new(0) };
		let err = fetch_checked(&always, "k", &c, 1 << 20, deadline).await.unwrap_err();
		assert!(matches!(err, Exclusion::HashMismatch { .. }), "{err}");
		assert_eq!(always.reads.load(Ordering::SeqCst), 2);
	}
}
