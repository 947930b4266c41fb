//! DESIGN.md §9, the payload faults, each through the real path a peer takes when a window's
//! reveal period ends: bytes read from a store (a local directory here; S3 in the end-to-end
//! tests), checked against the commitment, decoded for the model, screened, and the outer step
//! applied. Each bad payload is set aside with the right flag, nothing panics, and θ after the
//! step is exactly what the honest update alone gives.
//!
//! The other §9 items have tests of their own, named after them: commits from an unregistered
//! account or for a closed window and results from a non-validator in `pallet-training`
//! (`commit_from_unregistered_account_fails`, `commit_for_closed_window_fails`,
//! `results_from_a_non_validator_are_rejected`); the object store down or slow in `s3_store.rs`;
//! node restart, miner restart and chain RPC drop in the end-to-end tests (`faults.rs`,
//! `gauntlet_network.rs`).

// Helpers of the tests below: a failure in them is the test failing.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use std::{collections::BTreeSet, time::Duration};
use tessera_codec::{
	CompressConfig, Expected, Header, IndexCoding, OuterStep, Payload, Rules, apply_outer_step,
	decode, encode, hash::payload_hash,
};
use tessera_model::train::UpdateBuilder;
use tessera_peer::round::{self, Committed, WindowRecord, flags};
use tessera_store::{Location, ObjectStore, Resolver, gradient_key};

const WINDOW: u64 = 7;
const THETA: [u8; 32] = [5; 32];
const HONEST: [u8; 32] = [1; 32];
const BAD: [u8; 32] = [2; 32];
/// The network's rules in these tests: the codec's default k and 2-bit values, values up to 1.
const RULES: Rules = Rules { k: 64, quantised: true, max_value: 1.0 };

fn shapes() -> Vec<Vec<usize>> {
	vec![vec![64, 64], vec![64]]
}

fn header(miner: [u8; 32], window: u64) -> Header {
	Header { window, miner, theta_hash: THETA, data_digest: [0; 32] }
}

/// A real update of `miner` for `window`: θ moved by `scale × pattern`.
fn update(miner: [u8; 32], window: u64, scale: f32) -> Vec<u8> {
	let mut b =
		UpdateBuilder::new(&shapes(), CompressConfig::default(), IndexCoding::Rice, 1).unwrap();
	let start: Vec<Vec<f32>> = shapes().iter().map(|s| vec![0.0; s.iter().product()]).collect();
	let end: Vec<Vec<f32>> = start
		.iter()
		.map(|t| (0..t.len()).map(|i| scale * ((i * 7 % 23) as f32 - 11.0)).collect())
		.collect();
	b.build(&start, &end, header(miner, window)).unwrap().bytes
}

fn location(miner: [u8; 32]) -> Location {
	Location {
		endpoint: "http://127.0.0.1:1".into(),
		bucket: "tessera".into(),
		prefix: hex::encode(&miner[..2]),
	}
}

/// What a peer concludes: the bad peer's flags, and θ after the window's outer step.
struct Outcome {
	flags: u8,
	theta: Vec<Vec<f32>>,
}

/// Stores `uploaded` under the bad miner's key (committing `committed`, or `uploaded` when
/// `None`) beside an honest update, then fetches, screens and steps as a peer does. `early`
/// marks the bad miner's upload as seen before the window closed; `previous` is the window
/// before's record for copy checks.
async fn run(
	uploaded: Option<Vec<u8>>,
	committed: Option<Vec<u8>>,
	bad_committed_at: u64,
	early: bool,
	previous: Option<round::Previous>,
) -> Outcome {
	let dir = tempfile::tempdir().unwrap();
	let resolver = Resolver::Local { root: dir.path().into() };
	let honest = update(HONEST, WINDOW, 0.01);
	let mut commitments = Vec::new();
	for (miner, bytes, commit, at) in [
		(HONEST, Some(honest.clone()), None, 10),
		(BAD, uploaded.clone(), committed.clone(), bad_committed_at),
	] {
		let store = resolver.open(&location(miner)).unwrap();
		if let Some(b) = &bytes {
			store.put(&gradient_key(WINDOW, &miner), Bytes::from(b.clone())).await.unwrap();
		}
		let c = commit.or(bytes).unwrap_or_else(|| b"never uploaded".to_vec());
		commitments.push(Committed {
			account: miner,
			payload_hash: payload_hash(&c),
			payload_len: c.len() as u32,
			committed_at: at,
			location: Some(location(miner)),
		});
	}
	commitments.sort_by_key(|c| (c.committed_at, c.account));
	let record = WindowRecord { window: WINDOW, set: vec![HONEST, BAD], commitments };
	let fetched = round::fetch_all(
		&resolver,
		WINDOW,
		&record.commitments,
		&shapes(),
		RULES,
		Duration::from_secs(5),
	)
	.await;
	let early = if early { BTreeSet::from([BAD]) } else { BTreeSet::new() };
	let screened = round::screen(&record, fetched, &early, &THETA, previous.as_ref(), &[4; 32]);
	let inclusion = round::inclusion(&record, &screened);
	let payloads: Vec<&Payload> = inclusion
		.iter()
		.filter_map(|a| screened.iter().find(|s| s.account == *a).and_then(|s| s.payload.as_ref()))
		.collect();
	let mut theta: Vec<Vec<f32>> = shapes().iter().map(|s| vec![0.5; s.iter().product()]).collect();
	let peers: Vec<&[tessera_codec::CompressedTensor]> =
		payloads.iter().map(|p| p.tensors.as_slice()).collect();
	apply_outer_step(&mut theta, &peers, &OuterStep { lr: 0.7, threads: 1 }).unwrap();
	let flags = screened.iter().find(|s| s.account == BAD).map_or(0, |s| s.flags);
	Outcome { flags, theta }
}

/// θ after the honest update alone.
fn honest_theta() -> Vec<Vec<f32>> {
	let honest = update(HONEST, WINDOW, 0.01);
	let p = decode(
		&honest,
		&Expected { window: WINDOW, miner: &HONEST, shapes: &shapes(), rules: RULES },
	)
	.unwrap();
	let mut theta: Vec<Vec<f32>> = shapes().iter().map(|s| vec![0.5; s.iter().product()]).collect();
	apply_outer_step(&mut theta, &[p.tensors], &OuterStep { lr: 0.7, threads: 1 }).unwrap();
	theta
}

fn assert_set_aside(outcome: Outcome, flag: u8) {
	assert_eq!(outcome.flags & flag, flag, "flags {:?}", flags::names(outcome.flags));
	assert!(outcome.theta == honest_theta(), "θ is what the honest update alone gives");
}

#[tokio::test]
async fn malformed_payload() {
	let mut bytes = update(BAD, WINDOW, 0.01);
	bytes[120] ^= 0xff; // inside the first tensor's description
	assert_set_aside(run(Some(bytes), None, 10, false, None).await, flags::INVALID);
}

#[tokio::test]
async fn truncated_payload() {
	let mut bytes = update(BAD, WINDOW, 0.01);
	bytes.truncate(bytes.len() / 2);
	assert_set_aside(run(Some(bytes), None, 10, false, None).await, flags::INVALID);
}

#[tokio::test]
async fn oversized_payload() {
	// Larger than the cap the network's k and value coding give the model: refused before it
	// is read whole.
	let bytes = vec![0u8; RULES.max_payload_len(&shapes()) + 1];
	assert_set_aside(run(Some(bytes), None, 10, false, None).await, flags::INVALID);
}

#[tokio::test]
async fn hash_mismatch() {
	let uploaded = update(BAD, WINDOW, 0.01);
	let committed = update(BAD, WINDOW, 0.02);
	assert_set_aside(run(Some(uploaded), Some(committed), 10, false, None).await, flags::INVALID);
}

#[tokio::test]
async fn nan_or_inf_values() {
	let mut b =
		UpdateBuilder::new(&shapes(), CompressConfig::default(), IndexCoding::Rice, 1).unwrap();
	let start: Vec<Vec<f32>> = shapes().iter().map(|s| vec![0.0; s.iter().product()]).collect();
	let end: Vec<Vec<f32>> =
		start.iter().map(|t| (0..t.len()).map(|i| i as f32 * 0.0001).collect()).collect();
	let mut tensors = decode(
		&b.build(&start, &end, header(BAD, WINDOW)).unwrap().bytes,
		&Expected { window: WINDOW, miner: &BAD, shapes: &shapes(), rules: RULES },
	)
	.unwrap()
	.tensors;
	for (t, bad) in tensors.iter_mut().zip([f32::NAN, f32::INFINITY]) {
		if let tessera_codec::Values::Quantised { table, .. } = &mut t.values {
			table[3] = bad;
		}
	}
	let bytes = encode(&header(BAD, WINDOW), &tensors, IndexCoding::Rice);
	assert_set_aside(run(Some(bytes), None, 10, false, None).await, flags::INVALID);
}

#[tokio::test]
async fn indices_out_of_range() {
	let p = decode(
		&update(BAD, WINDOW, 0.01),
		&Expected { window: WINDOW, miner: &BAD, shapes: &shapes(), rules: RULES },
	)
	.unwrap();
	let mut tensors = p.tensors;
	// The 1-D tensor's single chunk holds 64 positions: 64 is one past the end.
	let last = tensors.last_mut().unwrap();
	let n = last.indices.len();
	last.indices[n - 1] = 64;
	let bytes = encode(&header(BAD, WINDOW), &tensors, IndexCoding::Packed12);
	assert_set_aside(run(Some(bytes), None, 10, false, None).await, flags::INVALID);
}

#[tokio::test]
async fn wrong_window_in_header() {
	let bytes = update(BAD, WINDOW + 1, 0.01);
	assert_set_aside(run(Some(bytes), None, 10, false, None).await, flags::INVALID);
}

#[tokio::test]
async fn wrong_account_in_header() {
	let bytes = update([9; 32], WINDOW, 0.01);
	assert_set_aside(run(Some(bytes), None, 10, false, None).await, flags::INVALID);
}

#[tokio::test]
async fn payload_uploaded_early() {
	let bytes = update(BAD, WINDOW, 0.02);
	assert_set_aside(run(Some(bytes), None, 10, true, None).await, flags::EARLY);
}

#[tokio::test]
async fn payload_never_uploaded_or_uploaded_late() {
	// Not there when the reveal period ends: missing (a validator turns it into "late" when it
	// shows up before its submission; see `validator::scoring`).
	assert_set_aside(
		run(None, Some(update(BAD, WINDOW, 0.02)), 10, false, None).await,
		flags::MISSING,
	);
}

#[tokio::test]
async fn duplicate_of_another_miners_payload() {
	// Yesterday's bytes of another miner, re-served: wrong window, and a known hash.
	let original = update([3; 32], WINDOW - 1, 0.02);
	let previous = round::Previous {
		window: WINDOW - 1,
		hashes: vec![([3; 32], payload_hash(&original))],
		indices: Default::default(),
		set: Default::default(),
	};
	assert_set_aside(
		run(Some(original), None, 10, false, Some(previous)).await,
		flags::INVALID | flags::COPIED,
	);
}

#[tokio::test]
async fn near_duplicate_of_another_miners_payload() {
	// The honest update's positions with its values nudged, committed a block later.
	let honest = decode(
		&update(HONEST, WINDOW, 0.01),
		&Expected { window: WINDOW, miner: &HONEST, shapes: &shapes(), rules: RULES },
	)
	.unwrap();
	let mut tensors = honest.tensors;
	for t in &mut tensors {
		if let tessera_codec::Values::Quantised { table, .. } = &mut t.values {
			*table = table.map(|v| v * 1.01);
		}
	}
	let bytes = encode(&header(BAD, WINDOW), &tensors, IndexCoding::Rice);
	assert_set_aside(run(Some(bytes), None, 11, false, None).await, flags::COPIED);
}

/// Issue 17 item 4: a payload must use the network's k and value coding, and no value may
/// exceed the network's largest: one set member cannot write ~3.4e38 into θ even when its
/// update is the only one.
#[tokio::test]
async fn another_k_raw_values_or_an_enormous_value() {
	let honest = || {
		decode(
			&update(BAD, WINDOW, 0.01),
			&Expected { window: WINDOW, miner: &BAD, shapes: &shapes(), rules: RULES },
		)
		.unwrap()
		.tensors
	};
	// The largest finite value in the quantisation table.
	let mut huge = honest();
	for t in &mut huge {
		if let tessera_codec::Values::Quantised { table, .. } = &mut t.values {
			table[3] = 3.4e38;
		}
	}
	// Raw f32 values where the network quantises: larger than the cap the run's value coding
	// gives, so refused before it is read.
	let mut raw = honest();
	for t in &mut raw {
		let values = (0..t.indices.len()).map(|i| t.value(i)).collect();
		t.values = tessera_codec::Values::Raw(values);
	}
	// k = 32 where the network's is 64: every other position dropped.
	let mut fewer = honest();
	for t in &mut fewer {
		let keep: Vec<usize> = (0..t.indices.len()).filter(|i| i % 2 == 0).collect();
		t.indices = keep.iter().map(|&i| t.indices[i]).collect();
		if let tessera_codec::Values::Quantised { codes, .. } = &mut t.values {
			*codes = keep.iter().map(|&i| codes[i]).collect();
		}
		t.k /= 2;
	}
	for (what, tensors, expected) in [
		("an enormous value", huge, "exceeds the network's largest update value"),
		("raw values", raw, "exceeds the cap"),
		("another k", fewer, "the network's is 64"),
	] {
		let bytes = encode(&header(BAD, WINDOW), &tensors, IndexCoding::Rice);
		let err = decode(
			&bytes,
			&Expected { window: WINDOW, miner: &BAD, shapes: &shapes(), rules: RULES },
		)
		.unwrap_err();
		assert!(err.to_string().contains(expected), "{what}: {err}");
		assert_set_aside(run(Some(bytes), None, 10, false, None).await, flags::INVALID);
	}
}
