//! Copy detection (DESIGN.md §5): a payload whose kept positions (its top-k index sets) almost
//! all coincide with an earlier commitment's is a copy. Honest miners start from the same θ but
//! train on different data, so their index sets overlap only partly; a copy, even with its
//! values perturbed or its header rewritten, keeps the original's positions.
//!
//! "Earlier" means committed in an earlier block of the same window, or in the previous window
//! (an update re-served a window later). Exact byte copies are also caught by hash: on chain
//! within a window (`HashAlreadyOwned`), and here against the previous window's hashes.

use tessera_codec::CompressedTensor;

/// Overlap at or above which a payload counts as a copy.
pub const COPY_OVERLAP: f64 = 0.9;

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

	/// Fraction of `self`'s positions that `other` kept too (0 when the layouts differ).
	pub fn overlap(&self, other: &IndexSet) -> f64 {
		if self.tensors.len() != other.tensors.len() || self.is_empty() {
			return 0.0;
		}
		let mut shared = 0usize;
		for ((ka, a), (kb, b)) in self.tensors.iter().zip(&other.tensors) {
			if ka != kb || a.len() != b.len() || *ka == 0 {
				return 0.0;
			}
			// Both are ascending inside each chunk of k: merge chunk by chunk.
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
		shared as f64 / self.len() as f64
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
		if e.hash == *hash {
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
		let other_k = IndexSet::of(&[tensor(vec![1, 5, 9, 20, 30, 40], 6)]);
		assert_eq!(a.overlap(&other_k), 0.0);
	}

	#[test]
	fn copies_are_found_by_hash_or_positions_never_against_oneself() {
		let original = IndexSet::of(&[tensor(vec![1, 5, 9, 20], 4)]);
		let honest = IndexSet::of(&[tensor(vec![2, 5, 10, 20], 4)]);
		let earlier = [Earlier { miner: [1; 32], hash: [9; 32], indices: Some(&original) }];
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
