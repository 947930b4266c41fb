//! What a network's payloads must use: the run's `k`, value coding and largest value (from the
//! run manifest on chain), and the tensor size those imply (the whole payload's cap,
//! `Rules::max_payload_len`, adds the header in `format`). The decoder holds every payload to
//! them; the size cap is what a payload obeying them can take at most, so nothing larger is ever
//! fetched or read.

use crate::{geometry::ChunkGeometry, quant::LEVELS};

/// The network's coding rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rules {
	/// Values kept per chunk (a chunk smaller than `k` keeps all of its values).
	pub k: usize,
	/// 2-bit quantised values (`true`) or raw f32 (`false`).
	pub quantised: bool,
	/// Largest magnitude of a kept value (a table entry or a raw value).
	pub max_value: f32,
}

impl Rules {
	/// The `k` a tensor of `geometry` must use.
	pub fn k_for(&self, geometry: &ChunkGeometry) -> usize {
		self.k.min(geometry.chunk_len())
	}

	/// Most bits the Rice-coded positions of one tensor may take: per chunk, the fewest bits
	/// any Rice parameter `p` needs at worst (`k·(1+p)` plus at most `chunk_len >> p` unary
	/// bits). The encoder picks the best `p` for the actual gaps, so an honest payload never
	/// needs more.
	pub fn rice_index_bits(&self, geometry: &ChunkGeometry) -> usize {
		let k = self.k_for(geometry);
		let chunk_len = geometry.chunk_len();
		let per_chunk =
			(0..=12usize).map(|p| k * (1 + p) + (chunk_len >> p)).min().unwrap_or(usize::MAX);
		geometry.num_chunks().saturating_mul(per_chunk)
	}

	/// Largest encoded tensor of `geometry` these rules allow, in bytes.
	pub fn max_tensor_len(&self, geometry: &ChunkGeometry) -> usize {
		let n = geometry.num_chunks().saturating_mul(self.k_for(geometry));
		// ndim, 2 dims, chunk sides, k, codings, Rice parameter, table, index count, body length.
		let fixed = 1 + 2 * 4 + 2 + 2 + 2 + 1 + 1 + 1 + 4 + 4;
		let table = if self.quantised { LEVELS * 4 } else { 0 };
		let index = n.saturating_mul(12).max(self.rice_index_bits(geometry)).div_ceil(8);
		let values =
			if self.quantised { n.saturating_mul(2).div_ceil(8) } else { n.saturating_mul(4) };
		(fixed + table).saturating_add(index).saturating_add(values)
	}
}
