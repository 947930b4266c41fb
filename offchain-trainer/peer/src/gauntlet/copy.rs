//! Copy detection (DESIGN.md §5): a payload whose kept positions (its top-k index sets) almost
//! all coincide with an earlier commitment's is a copy. Honest miners start from the same θ but
//! train on different data, so their index sets overlap only partly; a copy, even with its
//! values perturbed or its header rewritten, keeps the original's positions.
//!
//! "Earlier" means committed in an earlier block of the same window, or in the previous window
//! (an update re-served a window later). Exact byte copies within a window never decode for the
//! copier (a payload's header names the account that built it, and decoding refuses another
//! committer: `INVALID`); across windows they are caught here by hash.
//!
//! **Bounded work.** Comparing every pair position by position is quadratic in committers times
//! the kept positions. Each payload first gets a [`Sketch`]: the [`SKETCH_LEN`] smallest values
//! of a keyed hash of its positions (a bottom-k MinHash), keyed by a seed nobody knew when they
//! committed (the next window's). Two sketches estimate the pair's resemblance in
//! `O(SKETCH_LEN)`; only pairs whose estimate comes within a wide margin of a copy are compared
//! exactly, and a payload stops at its first confirmed copy. A copier cannot choose which of the
//! victim's positions the sketch samples: the key was unknown when it committed.

use tessera_codec::CompressedTensor;

/// Overlap at or above which a payload counts as a copy.
pub const COPY_OVERLAP: f64 = 0.9;

/// Payloads whose kept positions differ in number by more than this factor are not compared.
pub const MAX_SIZE_RATIO: usize = 2;

/// Hash values a [`Sketch`] keeps.
pub const SKETCH_LEN: usize = 128;

/// How far below a copy's resemblance a sketch estimate may fall and still be checked exactly:
/// about six standard errors of a [`SKETCH_LEN`]-value estimate.
const SKETCH_MARGIN: f64 = 0.2;

/// The smallest [`SKETCH_LEN`] keyed hashes of a payload's positions, ascending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sketch {
	values: Vec<u64>,
	len: usize,
}

/// SplitMix64's finaliser: a fast, well-mixed keyed hash of one position.
fn mix(mut z: u64) -> u64 {
	z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
	z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
	z ^ (z >> 31)
}

impl Sketch {
	/// Estimated resemblance (|A ∩ B| / |A ∪ B|) of the two position sets: the share of the
	/// union's smallest hashes that both hold.
	pub fn resemblance(&self, other: &Sketch) -> f64 {
		let (a, b) = (&self.values, &other.values);
		let (mut i, mut j, mut seen, mut both) = (0, 0, 0usize, 0usize);
		while seen < SKETCH_LEN && (i < a.len() || j < b.len()) {
			match (a.get(i), b.get(j)) {
				(Some(x), Some(y)) if x == y => {
					both += 1;
					i += 1;
					j += 1;
				},
				(Some(x), Some(y)) if x < y => i += 1,
				(Some(_), None) => i += 1,
				_ => j += 1,
			}
			seen += 1;
		}
		if seen == 0 { 0.0 } else { both as f64 / seen as f64 }
	}

	/// Whether the pair might be a copy and must be compared exactly: the estimate is within
	/// the margin of the resemblance an overlap of [`COPY_OVERLAP`] gives sets of these sizes.
	fn may_be_copy(&self, other: &Sketch) -> bool {
		let (small, large) = (self.len.min(other.len) as f64, self.len.max(other.len) as f64);
		let shared = COPY_OVERLAP * small;
		let needed = shared / (small + large - shared);
		self.resemblance(other) >= needed - SKETCH_MARGIN
	}
}

/// The positions a payload kept, tensor by tensor (sorted within each chunk, as decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSet {
	tensors: Vec<(usize, Vec<u16>)>,
}

impl IndexSet {
	/// The index set of a decoded payload.
	pub fn of(tensors: &[CompressedTensor]) -> Self {
		Self { tensors: tensors.iter().map(|t| (t.k, t.indices.clone())).collect() }
	}

	/// Total kept positions.
	pub fn len(&self) -> usize {
		self.tensors.iter().map(|(_, i)| i.len()).sum()
	}

	/// Whether nothing was kept.
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}

	/// The positions' sketch under `key` (one pass over the positions).
	pub fn sketch(&self, key: &[u8; 32]) -> Sketch {
		let mut k = [0u8; 8];
		k.copy_from_slice(&key[..8]);
		let key = u64::from_le_bytes(k);
		let mut values: Vec<u64> = Vec::with_capacity(self.len());
		for (t, (k, indices)) in self.tensors.iter().enumerate() {
			for (i, &pos) in indices.iter().enumerate() {
				let chunk = i / (*k).max(1);
				let id = ((t as u64) << 48) ^ ((chunk as u64) << 12) ^ u64::from(pos);
				values.push(mix(mix(id ^ key) ^ key.rotate_left(17)));
			}
		}
		values.sort_unstable();
		values.dedup();
		values.truncate(SKETCH_LEN);
		Sketch { values, len: self.len() }
	}

	/// Fraction of positions the two payloads share, over the smaller of the two: 1.0 when one
	/// kept a subset of the other's positions. Positions are compared chunk by chunk whatever
	/// `k` each payload used, so changing `k` (keeping half of a victim's positions, or up to as
	/// many again) does not hide a copy. 0 when the layouts differ (another model), and when
	/// one payload keeps more than [`MAX_SIZE_RATIO`] times the other's positions: a dense
	/// payload contains every sparse one, and must not make honest updates look like copies.
	pub fn overlap(&self, other: &IndexSet) -> f64 {
		if self.tensors.len() != other.tensors.len() || self.is_empty() || other.is_empty() {
			return 0.0;
		}
		let (small, large) = (self.len().min(other.len()), self.len().max(other.len()));
		if large > small * MAX_SIZE_RATIO {
			return 0.0;
		}
		let mut shared = 0usize;
		for ((ka, a), (kb, b)) in self.tensors.iter().zip(&other.tensors) {
			if *ka == 0 || *kb == 0 {
				continue;
			}
			// As many chunks on both sides, or the tensors are not the same shape.
			if a.len() / ka != b.len() / kb {
				return 0.0;
			}
			// Both are ascending inside each chunk: merge chunk by chunk.
			for (ca, cb) in a.chunks(*ka).zip(b.chunks(*kb)) {
				let (mut i, mut j) = (0, 0);
				while i < ca.len() && j < cb.len() {
					match ca[i].cmp(&cb[j]) {
						std::cmp::Ordering::Less => i += 1,
						std::cmp::Ordering::Greater => j += 1,
						std::cmp::Ordering::Equal => {
							shared += 1;
							i += 1;
							j += 1;
						},
					}
				}
			}
		}
		shared as f64 / small as f64
	}
}

/// An earlier payload a new one is compared with.
#[derive(Clone, Debug)]
pub struct Earlier<'a> {
	/// Its miner.
	pub miner: [u8; 32],
	/// Its payload hash.
	pub hash: [u8; 32],
	/// Its kept positions and their sketch, when it decoded.
	pub indices: Option<(&'a IndexSet, &'a Sketch)>,
	/// Whether its bytes are known to be its committer's own: a previous window's payload, or
	/// one of this window that decoded for its committer. A commitment of this window whose
	/// payload did not (a front-runner's copy of someone's hash, committed first) is not.
	pub own_bytes: bool,
}

/// Why a payload counts as a copy.
#[derive(Clone, Debug, PartialEq)]
pub enum Copied {
	/// Byte-identical to another miner's earlier payload.
	SameBytes {
		/// The original's miner.
		of: [u8; 32],
	},
	/// Keeps (nearly) the same positions as another miner's earlier payload.
	SameIndices {
		/// The original's miner.
		of: [u8; 32],
		/// Fraction of positions shared.
		overlap: f64,
	},
}

impl std::fmt::Display for Copied {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::SameBytes { of } => {
				write!(f, "the same bytes as {}'s payload", tessera_chain::address::ss58(of))
			},
			Self::SameIndices { of, overlap } => write!(
				f,
				"{:.0} % of its positions as {}'s payload",
				overlap * 100.0,
				tessera_chain::address::ss58(of)
			),
		}
	}
}

/// Checks a payload of `miner` (hash `hash`, positions and sketch `indices` if it decoded)
/// against `earlier` payloads; returns the first reason it is a copy.
pub fn check(
	miner: &[u8; 32],
	hash: &[u8; 32],
	indices: Option<(&IndexSet, &Sketch)>,
	earlier: &[Earlier<'_>],
) -> Option<Copied> {
	for e in earlier.iter().filter(|e| e.miner != *miner) {
		// Byte-identical to an earlier payload that was its committer's own. A front-runner's
		// commitment of *this* payload's hash proves nothing.
		if e.hash == *hash && e.own_bytes {
			return Some(Copied::SameBytes { of: e.miner });
		}
		if let (Some((mine, my_sketch)), Some((theirs, their_sketch))) = (indices, e.indices) {
			if !my_sketch.may_be_copy(their_sketch) {
				continue;
			}
			let overlap = mine.overlap(theirs);
			if overlap >= COPY_OVERLAP {
				return Some(Copied::SameIndices { of: e.miner, overlap });
			}
		}
	}
	None
}

#[cfg(test)]
mod tests {
	use super::*;
	use tessera_codec::{ChunkGeometry, Values};

	const KEY: [u8; 32] = [3; 32];

	/// A set with its sketch, as `check` takes them.
	fn with_sketch(set: &IndexSet) -> (IndexSet, Sketch) {
		(set.clone(), set.sketch(&KEY))
	}

	fn tensor(indices: Vec<u16>, k: usize) -> CompressedTensor {
		CompressedTensor {
			geometry: ChunkGeometry::for_shape(&[8, 8]).unwrap(),
			k,
			indices: indices.clone(),
			values: Values::Raw(vec![1.0; indices.len()]),
		}
	}

	#[test]
	fn overlap_counts_shared_positions_chunk_by_chunk() {
		let a = IndexSet::of(&[tensor(vec![1, 5, 9, 20], 4)]);
		let b = IndexSet::of(&[tensor(vec![1, 6, 9, 21], 4)]);
		assert_eq!(a.overlap(&a), 1.0);
		assert_eq!(a.overlap(&b), 0.5);
		let other_shape = IndexSet::of(&[tensor(vec![1, 5, 9, 20], 4), tensor(vec![3], 1)]);
		assert_eq!(a.overlap(&other_shape), 0.0);
	}

	/// Issue 17 item 7: a copier that changes k (keeps half of the victim's positions per chunk,
	/// or adds positions of its own) is still a copy; the check used to return 0 whenever k
	/// differed.
	#[test]
	fn changing_k_does_not_hide_a_copy() {
		// One 64-value chunk; the victim kept 8 positions.
		let victim = IndexSet::of(&[tensor(vec![1, 5, 9, 20, 33, 40, 51, 60], 8)]);
		let fewer = IndexSet::of(&[tensor(vec![5, 20, 40, 60], 4)]);
		let more = IndexSet::of(&[tensor(vec![1, 2, 5, 9, 11, 20, 33, 40, 51, 60, 61, 62], 12)]);
		let far_more = IndexSet::of(&[tensor((0..40).collect(), 40)]);
		assert_eq!(far_more.overlap(&victim), 0.0, "beyond the size ratio: not compared");
		assert_eq!(fewer.overlap(&victim), 1.0);
		assert_eq!(more.overlap(&victim), 1.0);
		let victim_sketch = victim.sketch(&KEY);
		let earlier = [Earlier {
			miner: [1; 32],
			hash: [9; 32],
			indices: Some((&victim, &victim_sketch)),
			own_bytes: true,
		}];
		for copier in [&fewer, &more] {
			let copier_sketch = copier.sketch(&KEY);
			assert!(matches!(
				check(&[2; 32], &[8; 32], Some((copier, &copier_sketch)), &earlier),
				Some(Copied::SameIndices { overlap, .. }) if overlap == 1.0
			));
		}
		// An honest payload with another k shares only some positions.
		let honest = IndexSet::of(&[tensor(vec![0, 5, 12, 21, 34, 44], 6)]);
		assert!(honest.overlap(&victim) < COPY_OVERLAP);
	}

	/// A dense payload (every position of the chunk) contains every honest payload's
	/// positions; it must not make later honest payloads copies of it.
	#[test]
	fn a_dense_payload_does_not_make_honest_ones_copies() {
		let dense = IndexSet::of(&[tensor((0..64).collect(), 64)]);
		let honest = IndexSet::of(&[tensor(vec![1, 5, 9, 20, 33, 40, 51, 60], 8)]);
		assert_eq!(honest.overlap(&dense), 0.0);
		let (dense_sketch, honest_sketch) = (dense.sketch(&KEY), honest.sketch(&KEY));
		let earlier = [Earlier {
			miner: [1; 32],
			hash: [9; 32],
			indices: Some((&dense, &dense_sketch)),
			own_bytes: true,
		}];
		assert_eq!(check(&[2; 32], &[8; 32], Some((&honest, &honest_sketch)), &earlier), None);
	}

	/// A front-runner committed this payload's hash first; its copy does not decode for it
	/// (the header names the honest miner), so the honest payload is not a copy of it.
	#[test]
	fn a_front_run_hash_does_not_make_the_honest_payload_a_copy() {
		let honest = IndexSet::of(&[tensor(vec![1, 5, 9, 20], 4)]);
		let front_run =
			[Earlier { miner: [7; 32], hash: [9; 32], indices: None, own_bytes: false }];
		let sketch = honest.sketch(&KEY);
		assert_eq!(check(&[2; 32], &[9; 32], Some((&honest, &sketch)), &front_run), None);
	}

	#[test]
	fn copies_are_found_by_hash_or_positions_never_against_oneself() {
		let original = IndexSet::of(&[tensor(vec![1, 5, 9, 20], 4)]);
		let honest = IndexSet::of(&[tensor(vec![2, 5, 10, 20], 4)]);
		let (o, h) = (with_sketch(&original), with_sketch(&honest));
		let earlier = [Earlier {
			miner: [1; 32],
			hash: [9; 32],
			indices: Some((&o.0, &o.1)),
			own_bytes: true,
		}];
		assert_eq!(
			check(&[2; 32], &[9; 32], None, &earlier),
			Some(Copied::SameBytes { of: [1; 32] })
		);
		assert_eq!(
			check(&[2; 32], &[8; 32], Some((&o.0, &o.1)), &earlier),
			Some(Copied::SameIndices { of: [1; 32], overlap: 1.0 })
		);
		assert_eq!(check(&[2; 32], &[8; 32], Some((&h.0, &h.1)), &earlier), None);
		assert_eq!(check(&[1; 32], &[9; 32], Some((&o.0, &o.1)), &earlier), None);
	}

	/// Issue 17 item 5: the sketch sends near-copies to the exact comparison and keeps honest
	/// pairs (a realistic overlap) out of it, on a payload of many chunks.
	#[test]
	fn sketches_separate_copies_from_honest_pairs() {
		use rand::{Rng, SeedableRng, seq::index::sample};
		let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
		let chunks = 200;
		let k = 64;
		let pick = |rng: &mut rand_chacha::ChaCha8Rng| -> Vec<u16> {
			let mut all = Vec::new();
			for _ in 0..chunks {
				let mut c: Vec<u16> = sample(rng, 4096, k).into_iter().map(|i| i as u16).collect();
				c.sort_unstable();
				all.extend(c);
			}
			all
		};
		let set = |indices: Vec<u16>| {
			IndexSet::of(&[CompressedTensor {
				geometry: ChunkGeometry::for_shape(&[64 * 10, 64 * 20]).unwrap(),
				k,
				values: Values::Raw(vec![1.0; indices.len()]),
				indices,
			}])
		};
		let victim_indices = pick(&mut rng);
		let victim = set(victim_indices.clone());
		// A copy that replaces 8 % of the victim's positions in every chunk.
		let mut copy_indices = victim_indices.clone();
		for c in copy_indices.chunks_mut(k) {
			for slot in 0..5 {
				let mut p = rng.random_range(0..4096u16);
				while c.contains(&p) {
					p = rng.random_range(0..4096u16);
				}
				c[slot] = p;
			}
			c.sort_unstable();
		}
		let copy = set(copy_indices);
		let honest = set(pick(&mut rng));
		assert!(copy.overlap(&victim) >= COPY_OVERLAP);
		for key in [[1u8; 32], [2; 32], [3; 32]] {
			let (v, c, h) = (victim.sketch(&key), copy.sketch(&key), honest.sketch(&key));
			assert!(c.may_be_copy(&v), "key {key:?}: {}", c.resemblance(&v));
			assert!(!h.may_be_copy(&v), "key {key:?}: {}", h.resemblance(&v));
		}
	}
}
