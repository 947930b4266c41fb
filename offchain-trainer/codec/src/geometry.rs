//! Chunk geometry (DESIGN.md §4): a tensor is viewed as 2-D `[rows, cols]` (a 1-D tensor as
//! `[1, n]`, higher ranks as `[prod(leading dims), last dim]`) and each dimension is split by its
//! largest divisor ≤ 64, so a chunk holds at most 64 × 64 = 4096 values and a position inside
//! it fits in 12 bits.

use crate::error::CodecError;

/// Largest side of a chunk.
pub const MAX_CHUNK_SIDE: usize = 64;
/// Largest number of values in a chunk.
pub const MAX_CHUNK_LEN: usize = MAX_CHUNK_SIDE * MAX_CHUNK_SIDE;

/// How one tensor is cut into chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkGeometry {
	/// Rows of the tensor's 2-D view.
	pub rows: usize,
	/// Columns of the tensor's 2-D view.
	pub cols: usize,
	/// Rows per chunk (largest divisor of `rows` ≤ 64).
	pub chunk_rows: usize,
	/// Columns per chunk (largest divisor of `cols` ≤ 64).
	pub chunk_cols: usize,
}

/// The largest divisor of `n` that is ≤ `MAX_CHUNK_SIDE` (`n ≥ 1`).
pub fn largest_divisor_at_most_64(n: usize) -> usize {
	(1..=MAX_CHUNK_SIDE.min(n)).rev().find(|&d| n.is_multiple_of(d)).unwrap_or(1)
}

impl ChunkGeometry {
	/// The geometry of a tensor of `shape`. Empty shapes and zero dimensions are rejected.
	pub fn for_shape(shape: &[usize]) -> Result<Self, CodecError> {
		let (rows, cols) = match shape {
			[] => return Err(CodecError::BadShape("a tensor needs at least one dimension")),
			[n] => (1, *n),
			[lead @ .., last] => {
				let rows = lead
					.iter()
					.try_fold(1usize, |acc, d| acc.checked_mul(*d))
					.ok_or(CodecError::BadShape("tensor too large"))?;
				(rows, *last)
			},
		};
		if rows == 0 || cols == 0 {
			return Err(CodecError::BadShape("zero-sized dimension"));
		}
		rows.checked_mul(cols).ok_or(CodecError::BadShape("tensor too large"))?;
		Ok(Self {
			rows,
			cols,
			chunk_rows: largest_divisor_at_most_64(rows),
			chunk_cols: largest_divisor_at_most_64(cols),
		})
	}

	/// Values in the tensor.
	pub fn len(&self) -> usize {
		self.rows * self.cols
	}

	/// Whether the tensor is empty (never, for a geometry built by [`Self::for_shape`]).
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}

	/// Values per chunk (≤ 4096).
	pub fn chunk_len(&self) -> usize {
		self.chunk_rows * self.chunk_cols
	}

	/// Chunks along the rows.
	pub fn chunks_down(&self) -> usize {
		self.rows / self.chunk_rows
	}

	/// Chunks along the columns.
	pub fn chunks_across(&self) -> usize {
		self.cols / self.chunk_cols
	}

	/// Number of chunks.
	pub fn num_chunks(&self) -> usize {
		self.chunks_down() * self.chunks_across()
	}

	/// Flat (row-major) offset in the tensor of position `pos` inside chunk `chunk`.
	#[inline]
	pub fn offset(&self, chunk: usize, pos: usize) -> usize {
		let (cr, cc) = (chunk / self.chunks_across(), chunk % self.chunks_across());
		let (r, c) = (pos / self.chunk_cols, pos % self.chunk_cols);
		(cr * self.chunk_rows + r) * self.cols + cc * self.chunk_cols + c
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn divisors() {
		assert_eq!(largest_divisor_at_most_64(4096), 64);
		assert_eq!(largest_divisor_at_most_64(100), 50);
		assert_eq!(largest_divisor_at_most_64(97), 1);
		assert_eq!(largest_divisor_at_most_64(48), 48);
		assert_eq!(largest_divisor_at_most_64(1), 1);
	}

	#[test]
	fn two_d_weight_is_64_by_64_chunks() {
		let g = ChunkGeometry::for_shape(&[256, 128]).expect("valid");
		assert_eq!((g.chunk_rows, g.chunk_cols, g.chunk_len(), g.num_chunks()), (64, 64, 4096, 8));
	}

	#[test]
	fn one_d_and_higher_rank_views() {
		let g = ChunkGeometry::for_shape(&[96]).expect("valid");
		assert_eq!((g.rows, g.cols, g.chunk_rows, g.chunk_cols), (1, 96, 1, 48));
		let g = ChunkGeometry::for_shape(&[2, 3, 64]).expect("valid");
		assert_eq!((g.rows, g.cols, g.chunk_rows, g.chunk_cols), (6, 64, 6, 64));
	}

	#[test]
	fn offsets_cover_every_value_once() {
		let g = ChunkGeometry::for_shape(&[130, 72]).expect("valid");
		let mut seen = vec![false; g.len()];
		for chunk in 0..g.num_chunks() {
			for pos in 0..g.chunk_len() {
				let o = g.offset(chunk, pos);
				assert!(!seen[o]);
				seen[o] = true;
			}
		}
		assert!(seen.into_iter().all(|s| s));
	}

	#[test]
	fn rejects_degenerate_shapes() {
		assert!(ChunkGeometry::for_shape(&[]).is_err());
		assert!(ChunkGeometry::for_shape(&[0, 4]).is_err());
		assert!(ChunkGeometry::for_shape(&[usize::MAX, 4]).is_err());
	}
}
