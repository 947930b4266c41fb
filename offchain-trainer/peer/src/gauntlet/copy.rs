//! Copy detection (DESIGN.md §5): a payload whose kept positions (its top-k index sets) almost
//! all coincide with an earlier commitment's is a copy. Honest miners start from the same θ but
//! train on different data, so their index sets overlap only partly; a copy, even with its
//! values perturbed or its header rewritten, keeps the original's positions.
//!
//! "Earlier" means committed in an earlier block of the same window, or in the previous window
//! (an update re-served a window later). Exact byte copies within a window never decode for the
//! copier (a payload's header names the account that built it, and decoding refuses another
//! committer: `INVALID`); across windows they are caught here by hash.

use tessera_codec::CompressedTensor;

/// Overlap at or above which a payload counts as a copy.
pub const COPY_OVERLAP: f64 = 0.9;

/// Payloads whose kept positions differ in number by more than this factor are not compared.
pub const MAX_SIZE_RATIO: usize = 2;

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
	/// Its kept positions, when it decoded.
	pub indices: Option<&'a IndexSet>,
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

/// Checks a payload of `miner` (hash `hash`, positions `indices` if it decoded) against
/// `earlier` payloads; returns the first reason it is a copy.
pub fn check(
	miner: &[u8; 32],
	hash: &[u8; 32],
	indices: Option<&IndexSet>,
	earlier: &[Earlier<'_>],
) -> Option<Copied> {
	for e in earlier.iter().filter(|e| e.miner != *miner) {
		// Byte-identical to an earlier payload that was its committer's own. A front-runner's
		// commitment of *this* payload's hash proves nothing.
		if e.hash == *hash && e.own_bytes {
			return Some(Copied::SameBytes { of: e.miner });
		}
		if let (Some(mine), Some(theirs)) = (indices, e.indices) {
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
		let earlier =
			[Earlier { miner: [1; 32], hash: [9; 32], indices: Some(&victim), own_bytes: true }];
		for copier in [&fewer, &more] {
			assert!(matches!(
				check(&[2; 32], &[8; 32], Some(copier), &earlier),
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
		let earlier =
			[Earlier { miner: [1; 32], hash: [9; 32], indices: Some(&dense), own_bytes: true }];
		assert_eq!(check(&[2; 32], &[8; 32], Some(&honest), &earlier), None);
	}

	/// A front-runner committed this payload's hash first; its copy does not decode for it
	/// (the header names the honest miner), so the honest payload is not a copy of it.
	#[test]
	fn a_front_run_hash_does_not_make_the_honest_payload_a_copy() {
		let honest = IndexSet::of(&[tensor(vec![1, 5, 9, 20], 4)]);
		let front_run =
			[Earlier { miner: [7; 32], hash: [9; 32], indices: None, own_bytes: false }];
		assert_eq!(check(&[2; 32], &[9; 32], Some(&honest), &front_run), None);
	}

	#[test]
	fn copies_are_found_by_hash_or_positions_never_against_oneself() {
		let original = IndexSet::of(&[tensor(vec![1, 5, 9, 20], 4)]);
		let honest = IndexSet::of(&[tensor(vec![2, 5, 10, 20], 4)]);
		let earlier =
			[Earlier { miner: [1; 32], hash: [9; 32], indices: Some(&original), own_bytes: true }];
		assert_eq!(
			check(&[2; 32], &[9; 32], None, &earlier),
			Some(Copied::SameBytes { of: [1; 32] })
		);
		assert_eq!(
			check(&[2; 32], &[8; 32], Some(&original), &earlier),
			Some(Copied::SameIndices { of: [1; 32], overlap: 1.0 })
		);
		assert_eq!(check(&[2; 32], &[8; 32], Some(&honest), &earlier), None);
		assert_eq!(check(&[1; 32], &[9; 32], Some(&original), &earlier), None);
	}
}
