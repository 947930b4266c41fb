//! The objective rules every peer applies to a window's updates when its reveal period ends, or
//! once every watched payload was read in it (DESIGN.md §2 step 6, §5). An update enters the
//! aggregate only if it is a member of the window's aggregation set and none of these holds:
//!
//! - **missing**: nothing readable at the key when the reveal period ended (or no commitment);
//! - **invalid**: the bytes' hash differs from the commitment, or they do not decode for the
//!   model, window and miner (bad layout, out-of-range index, NaN/Inf, …);
//! - **diverged**: the payload was trained from parameters whose hash is not this window's θ;
//! - **early**: the payload was readable before the window closed (seen by a probe), which
//!   would let others copy it;
//! - **copied**: its kept positions almost all match ([`copy::COPY_OVERLAP`]) those of another
//!   *aggregation-set member's* payload committed in an earlier block of this window, or of an
//!   update that entered the previous window's aggregate. (A byte copy never gets this far: its header names
//!   the miner and window that built it, so it does not decode for the copier.)
//!
//! For the aggregate only set members' payloads matter, so a follower fetches and decodes
//! nothing else (`FollowOptions::members_only`). A validator reads every commitment and scores
//! with the full check as well: bytes or positions copied from *any* earlier commitment set
//! [`flags::COPIED`] in its results ([`Screened::flags`]), while what enters the aggregate
//! ([`Screened::enters_aggregate`]) depends only on members, so followers and validators agree.
//!
//! Everything here is a pure function of the chain's record, the fetched bytes, the probes and
//! θ's hash, so peers with the same inputs include the same updates in the same order.

use super::{Committed, WindowRecord, fetch::Fetched, flags};
use crate::gauntlet::copy::{self, Earlier, IndexSet, Sketch};
use std::collections::{BTreeMap, BTreeSet};
use tessera_codec::Payload;

/// What is kept of the previous window for copy checks.
#[derive(Clone, Debug, Default)]
pub struct Previous {
	/// The previous window.
	pub window: u64,
	/// `(miner, payload hash)` of each of its commitments.
	pub hashes: Vec<([u8; 32], [u8; 32])>,
	/// The kept positions of each of its payloads that decoded.
	pub indices: BTreeMap<[u8; 32], IndexSet>,
	/// The updates that entered its aggregate: whose positions the next window's inclusion
	/// rule compares with.
	pub set: BTreeSet<[u8; 32]>,
}

/// One peer's update after screening.
#[derive(Clone, Debug)]
pub struct Screened {
	/// The miner.
	pub account: [u8; 32],
	/// Its commitment (`None`: an aggregation-set member that did not commit).
	pub committed: Option<Committed>,
	/// The decoded payload, when it decoded.
	pub payload: Option<Payload>,
	/// Its kept positions, when it decoded.
	pub indices: Option<IndexSet>,
	/// Why it is set aside ([`flags`] bits; 0 when usable).
	pub flags: u8,
	/// A human-readable reason for each set flag.
	pub reasons: Vec<String>,
	/// Its positions copy an earlier set member's (the inclusion rule's copy check).
	pub copies_a_member: bool,
}

impl Screened {
	/// Whether the update is clean by every rule, the full copy check included: what a
	/// validator evaluates and scores.
	pub fn is_clean(&self) -> bool {
		self.flags == 0 && self.payload.is_some()
	}

	/// Whether the update may enter the aggregate: clean but for copies of non-members, which
	/// only the validators' scores punish.
	pub fn enters_aggregate(&self) -> bool {
		self.flags & !flags::COPIED == 0 && self.payload.is_some() && !self.copies_a_member
	}

	fn flag(&mut self, bit: u8, reason: String) {
		self.flags |= bit;
		self.reasons.push(reason);
	}
}

/// Screens every commitment of `record` (in commit order), then every aggregation-set member
/// that did not commit (flagged missing). `key` keys the copy check's sketches: a seed nobody
/// knew when they committed (the next window's).
pub fn screen(
	record: &WindowRecord,
	mut fetched: BTreeMap<[u8; 32], Fetched>,
	early: &BTreeSet<[u8; 32]>,
	theta_hash: &[u8; 32],
	previous: Option<&Previous>,
	key: &[u8; 32],
) -> Vec<Screened> {
	let previous_sketches: BTreeMap<[u8; 32], Sketch> = previous
		.map(|p| p.indices.iter().map(|(m, i)| (*m, i.sketch(key))).collect())
		.unwrap_or_default();
	let mut sketches: Vec<Option<Sketch>> = Vec::with_capacity(record.commitments.len());
	let mut out: Vec<Screened> = Vec::with_capacity(record.commitments.len());
	for c in &record.commitments {
		let mut s = Screened {
			account: c.account,
			committed: Some(c.clone()),
			payload: None,
			indices: None,
			flags: 0,
			reasons: Vec::new(),
			copies_a_member: false,
		};
		match fetched.remove(&c.account) {
			None => s.flag(flags::MISSING, "not fetched".into()),
			Some(Err(e)) if e.is_missing() => s.flag(flags::MISSING, e.to_string()),
			Some(Err(e)) => s.flag(flags::INVALID, e.to_string()),
			Some(Ok(payload)) => {
				if payload.header.theta_hash != *theta_hash {
					s.flag(
						flags::DIVERGED,
						format!(
							"trained from θ {} instead of {}",
							hex::encode(payload.header.theta_hash),
							hex::encode(theta_hash)
						),
					);
				}
				s.indices = Some(IndexSet::of(&payload.tensors));
				s.payload = Some(payload);
			},
		}
		if early.contains(&c.account) {
			s.flag(flags::EARLY, "readable before the window closed".into());
		}
		let sketch = s.indices.as_ref().map(|i| i.sketch(key));
		// Earlier payloads, members of their window's set first.
		let mut members: Vec<Earlier<'_>> = Vec::new();
		let mut others: Vec<Earlier<'_>> = Vec::new();
		if let Some(p) = previous {
			for (miner, hash) in &p.hashes {
				let e = Earlier {
					miner: *miner,
					hash: *hash,
					indices: p.indices.get(miner).zip(previous_sketches.get(miner)),
					own_bytes: true,
				};
				if p.set.contains(miner) { members.push(e) } else { others.push(e) }
			}
		}
		for (o, sk) in out.iter().zip(&sketches) {
			let Some(oc) = o.committed.as_ref().filter(|oc| oc.committed_at < c.committed_at)
			else {
				continue;
			};
			let e = Earlier {
				miner: o.account,
				hash: oc.payload_hash,
				indices: o.indices.as_ref().zip(sk.as_ref()),
				own_bytes: o.indices.is_some(),
			};
			if record.set.contains(&o.account) { members.push(e) } else { others.push(e) }
		}
		let mine = s.indices.as_ref().zip(sketch.as_ref());
		// The inclusion rule looks at members' positions only (what every follower decodes).
		let member_copy = mine.and_then(|m| {
			let positions: Vec<Earlier<'_>> =
				members.iter().filter(|e| e.indices.is_some()).cloned().collect();
			copy::check(&c.account, &c.payload_hash, Some(m), &positions)
		});
		s.copies_a_member = member_copy.is_some();
		// The full check (a validator's scores): members' bytes, then everyone else's.
		let copied = member_copy
			.or_else(|| {
				let bytes_only: Vec<Earlier<'_>> =
					members.iter().map(|e| Earlier { indices: None, ..e.clone() }).collect();
				copy::check(&c.account, &c.payload_hash, None, &bytes_only)
			})
			.or_else(|| copy::check(&c.account, &c.payload_hash, mine, &others));
		if let Some(copied) = copied {
			s.flag(flags::COPIED, copied.to_string());
		}
		drop((members, others));
		out.push(s);
		sketches.push(sketch);
	}
	for member in &record.set {
		if record.commitment(member).is_none() {
			out.push(Screened {
				account: *member,
				committed: None,
				payload: None,
				indices: None,
				flags: flags::MISSING,
				reasons: vec!["no commitment".into()],
				copies_a_member: false,
			});
		}
	}
	out
}

/// The aggregation set's members whose updates may enter the aggregate, in set order.
pub fn inclusion(record: &WindowRecord, screened: &[Screened]) -> Vec<[u8; 32]> {
	record
		.set
		.iter()
		.filter(|m| screened.iter().any(|s| s.account == **m && s.enters_aggregate()))
		.copied()
		.collect()
}

/// The previous-window record for copy checks of the next window.
pub fn previous_of(record: &WindowRecord, screened: &[Screened]) -> Previous {
	Previous {
		window: record.window,
		hashes: record.commitments.iter().map(|c| (c.account, c.payload_hash)).collect(),
		indices: screened
			.iter()
			.filter_map(|s| s.indices.clone().map(|i| (s.account, i)))
			.collect(),
		// What the next window's inclusion rule compares with: this window's aggregate (what a
		// replay from the verdict also knows).
		set: screened.iter().filter(|s| s.enters_aggregate()).map(|s| s.account).collect(),
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::round::fetch::Exclusion;
	use tessera_codec::{ChunkGeometry, CompressedTensor, Header, Values};
	use tessera_store::StoreError;

	const THETA: [u8; 32] = [7; 32];

	fn payload(miner: u8, positions: [u16; 4], theta: [u8; 32]) -> Payload {
		Payload {
			header: Header {
				window: 2,
				miner: [miner; 32],
				theta_hash: theta,
				data_digest: [0; 32],
			},
			tensors: vec![CompressedTensor {
				geometry: ChunkGeometry::for_shape(&[8, 8]).unwrap(),
				k: 4,
				indices: positions.to_vec(),
				values: Values::Raw(vec![0.5; 4]),
			}],
		}
	}

	fn committed(miner: u8, at: u64) -> Committed {
		Committed {
			account: [miner; 32],
			payload_hash: [miner + 100; 32],
			payload_len: 100,
			committed_at: at,
			location: None,
		}
	}

	#[test]
	fn each_rule_sets_its_flag_and_only_clean_members_are_included() {
		let record = WindowRecord {
			window: 2,
			set: (1..=8).map(|m| [m; 32]).collect(),
			commitments: vec![
				committed(1, 10), // honest
				committed(2, 10), // honest, other positions
				committed(3, 11), // copies 1's positions a block later
				committed(4, 11), // missing
				committed(5, 11), // invalid
				committed(6, 11), // diverged
				committed(7, 11), // early
			],
		};
		let mut fetched: BTreeMap<[u8; 32], Fetched> = BTreeMap::new();
		fetched.insert([1; 32], Ok(payload(1, [1, 5, 9, 20], THETA)));
		fetched.insert([2; 32], Ok(payload(2, [2, 6, 10, 21], THETA)));
		fetched.insert([3; 32], Ok(payload(3, [1, 5, 9, 20], THETA)));
		fetched.insert(
			[4; 32],
			Err(Exclusion::Fetch(StoreError::NotFound { store: "s".into(), key: "k".into() })),
		);
		fetched.insert(
			[5; 32],
			Err(Exclusion::HashMismatch { got: "a".into(), committed: "b".into() }),
		);
		fetched.insert([6; 32], Ok(payload(6, [3, 7, 11, 22], [0; 32])));
		fetched.insert([7; 32], Ok(payload(7, [4, 8, 12, 23], THETA)));
		let early = BTreeSet::from([[7; 32]]);
		let screened = screen(&record, fetched, &early, &THETA, None, &[0; 32]);
		let flags_of =
			|m: u8| screened.iter().find(|s| s.account == [m; 32]).map(|s| s.flags).unwrap();
		assert_eq!(flags_of(1), 0);
		assert_eq!(flags_of(2), 0);
		assert_eq!(flags_of(3), flags::COPIED);
		assert_eq!(flags_of(4), flags::MISSING);
		assert_eq!(flags_of(5), flags::INVALID);
		assert_eq!(flags_of(6), flags::DIVERGED);
		assert_eq!(flags_of(7), flags::EARLY);
		assert_eq!(flags_of(8), flags::MISSING, "a member without a commitment is missing");
		assert_eq!(inclusion(&record, &screened), vec![[1; 32], [2; 32]]);
	}

	#[test]
	fn copies_of_the_previous_window_are_caught_by_hash_and_by_positions() {
		let record = WindowRecord {
			window: 3,
			set: vec![[1; 32], [2; 32], [3; 32]],
			commitments: vec![committed(1, 20), committed(2, 20), committed(3, 20)],
		};
		let old = payload(9, [1, 5, 9, 20], THETA);
		let previous = Previous {
			window: 2,
			// Miner 2 re-serves the bytes miner 9 committed a window earlier.
			hashes: vec![([9; 32], [102; 32])],
			indices: BTreeMap::from([([9; 32], IndexSet::of(&old.tensors))]),
			set: BTreeSet::from([[9; 32]]),
		};
		let mut fetched: BTreeMap<[u8; 32], Fetched> = BTreeMap::new();
		fetched.insert([1; 32], Ok(payload(1, [2, 6, 10, 21], THETA)));
		fetched.insert(
			[2; 32],
			Err(Exclusion::Invalid(tessera_codec::CodecError::BadMagic(*b"XXXX"))),
		);
		fetched.insert([3; 32], Ok(payload(3, [1, 5, 9, 20], THETA)));
		let screened =
			screen(&record, fetched, &BTreeSet::new(), &THETA, Some(&previous), &[0; 32]);
		assert_eq!(screened[0].flags, 0);
		assert_eq!(screened[1].flags, flags::INVALID | flags::COPIED);
		assert_eq!(screened[2].flags, flags::COPIED);
		assert_eq!(inclusion(&record, &screened), vec![[1; 32]]);
		let next = previous_of(&record, &screened);
		assert_eq!(next.hashes.len(), 3);
		assert_eq!(next.indices.len(), 2);
	}

	/// Issue 17 item 5: what enters the aggregate depends on set members' payloads only, so a
	/// follower that decodes nothing else includes what a validator that decodes everything
	/// includes; copying a non-member is still flagged for the validator's scores.
	#[test]
	fn the_aggregate_depends_on_members_only_and_copies_of_others_are_still_flagged() {
		let record = WindowRecord {
			window: 2,
			set: vec![[1; 32], [2; 32]],
			commitments: vec![
				committed(5, 10), // a non-member
				committed(1, 11), // a member copying the non-member's positions
				committed(2, 11), // an honest member
			],
		};
		let fetch_all = || {
			let mut f: BTreeMap<[u8; 32], Fetched> = BTreeMap::new();
			f.insert([5; 32], Ok(payload(5, [1, 5, 9, 20], THETA)));
			f.insert([1; 32], Ok(payload(1, [1, 5, 9, 20], THETA)));
			f.insert([2; 32], Ok(payload(2, [2, 6, 10, 21], THETA)));
			f
		};
		// A validator decodes everyone.
		let validator = screen(&record, fetch_all(), &BTreeSet::new(), &THETA, None, &[0; 32]);
		// A follower decodes members only.
		let mut members_only = fetch_all();
		members_only.remove(&[5; 32]);
		let follower = screen(&record, members_only, &BTreeSet::new(), &THETA, None, &[0; 32]);
		assert_eq!(inclusion(&record, &validator), vec![[1; 32], [2; 32]]);
		assert_eq!(inclusion(&record, &follower), inclusion(&record, &validator));
		let copier = validator.iter().find(|s| s.account == [1; 32]).unwrap();
		assert_eq!(copier.flags, flags::COPIED, "the validator still scores it as a copy");
		assert!(!copier.is_clean());
	}
}
