//! The network-wide outer step of a window (DESIGN.md §2 step 6), as every honest peer runs it:
//! take the window's aggregation set in on-chain order, fetch each member's payload from its
//! storage location, drop what is missing or objectively invalid (no commitment, hash mismatch,
//! decode error, non-finite values) with one log line per peer, and apply the codec's
//! deterministic outer step to θ_w. The inclusion list is returned so the peer can compare it with
//! the validators' verdict.

use crate::storage::{Location, ObjectStore, Resolver, StoreError, gradient_key};
use tessera_codec::{
	CodecError, Expected, OuterStep, Payload, apply_outer_step, decode, hash::payload_hash,
};

/// One aggregation-set member, as the chain records it for the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
	/// The miner's account.
	pub account: [u8; 32],
	/// Its commitment `(payload hash, payload length)`, if it committed.
	pub commitment: Option<([u8; 32], u32)>,
	/// Its storage location, if it is still registered.
	pub location: Option<Location>,
}

/// Why a member's update is left out.
#[derive(Debug, thiserror::Error)]
pub enum Exclusion {
	/// No commitment on chain for the window.
	#[error("no commitment")]
	NotCommitted,
	/// Not registered any more: no location to read from.
	#[error("no storage location")]
	NoLocation,
	/// The payload could not be fetched.
	#[error("payload not fetched: {0}")]
	Fetch(#[from] StoreError),
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

/// The outcome for one member.
#[derive(Debug)]
pub struct Fetched {
	/// The member's account.
	pub account: [u8; 32],
	/// Its decoded payload, or why it is excluded.
	pub outcome: Result<Payload, Exclusion>,
}

/// Fetches, verifies and decodes one member's payload for `window`.
pub async fn fetch_member(
	resolver: &Resolver,
	window: u64,
	member: &Member,
	shapes: &[Vec<usize>],
	max_bytes: usize,
) -> Result<Payload, Exclusion> {
	let (committed, len) = member.commitment.ok_or(Exclusion::NotCommitted)?;
	let location = member.location.as_ref().ok_or(Exclusion::NoLocation)?;
	let store = resolver.open(location)?;
	let cap = max_bytes.min(len as usize);
	let bytes = store.get(&gradient_key(window, &member.account), cap).await?;
	let got = payload_hash(&bytes);
	if got != committed {
		return Err(Exclusion::HashMismatch {
			got: hex::encode(got),
			committed: hex::encode(committed),
		});
	}
	Ok(decode(&bytes, &Expected { window, miner: &member.account, shapes, max_bytes })?)
}

/// Fetches every member's payload (concurrently), in set order, logging each exclusion once.
pub async fn fetch_set(
	resolver: &Resolver,
	window: u64,
	members: &[Member],
	shapes: &[Vec<usize>],
	max_bytes: usize,
) -> Vec<Fetched> {
	let outcomes = futures::future::join_all(
		members.iter().map(|m| fetch_member(resolver, window, m, shapes, max_bytes)),
	)
	.await;
	members
		.iter()
		.zip(outcomes)
		.map(|(m, outcome)| {
			if let Err(reason) = &outcome {
				tracing::warn!(window, peer = %hex::encode(m.account), %reason, "update left out of the aggregate");
			}
			Fetched { account: m.account, outcome }
		})
		.collect()
}

/// Applies the included updates of `fetched` (in order) to `theta` and returns the inclusion
/// list.
pub fn apply(
	theta: &mut [Vec<f32>],
	fetched: Vec<Fetched>,
	step: &OuterStep,
) -> Result<Vec<[u8; 32]>, CodecError> {
	let mut included = Vec::new();
	let mut peers = Vec::new();
	for f in fetched {
		if let Ok(payload) = f.outcome {
			included.push(f.account);
			peers.push(payload.tensors);
		}
	}
	apply_outer_step(theta, &peers, step)?;
	Ok(included)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::storage::Resolver;
	use crate::train::UpdateBuilder;
	use bytes::Bytes;
	use tessera_codec::{CompressConfig, Header, IndexCoding};

	const SHAPES: [[usize; 2]; 1] = [[16, 16]];

	fn shapes() -> Vec<Vec<usize>> {
		SHAPES.iter().map(|s| s.to_vec()).collect()
	}

	fn update(window: u64, account: [u8; 32], scale: f32) -> Vec<u8> {
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
	async fn only_valid_committed_updates_are_applied_in_set_order() {
		let dir = tempfile::tempdir().unwrap();
		let resolver = Resolver::Local { root: dir.path().into() };
		let window = 4;
		let honest = [1u8; 32];
		let wrong_hash = [2u8; 32];
		let missing = [3u8; 32];
		let garbage = [4u8; 32];
		let other_window = [5u8; 32];
		let mut members = Vec::new();
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
			members.push(Member {
				account,
				commitment: Some((payload_hash(&committed), committed.len() as u32)),
				location: Some(location(&prefix)),
			});
		}
		members.push(Member { account: [6; 32], commitment: None, location: Some(location("06")) });

		let fetched = fetch_set(&resolver, window, &members, &shapes(), 1 << 20).await;
		let reasons: Vec<String> = fetched
			.iter()
			.map(|f| f.outcome.as_ref().err().map_or("ok".into(), |e| e.to_string()))
			.collect();
		assert_eq!(reasons[0], "ok");
		assert!(reasons[1].contains("differs from the commitment"), "{}", reasons[1]);
		assert!(reasons[2].contains("no object"), "{}", reasons[2]);
		assert!(reasons[3].contains("invalid payload"), "{}", reasons[3]);
		assert!(reasons[4].contains("invalid payload"), "{}", reasons[4]);
		assert_eq!(reasons[5], "no commitment");

		let mut theta = vec![vec![0.0f32; 256]];
		let included = apply(&mut theta, fetched, &OuterStep { lr: 1.0, threads: 1 }).unwrap();
		assert_eq!(included, vec![honest]);
		assert!(theta[0].iter().any(|v| *v != 0.0));
	}
}
