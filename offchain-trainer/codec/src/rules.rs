//! What a network's payloads must use: the run's `k`, value coding and largest value (from the
//! run manifest on chain), and the payload size those imply. The decoder holds every payload to
//! them; the size cap is what a payload obeying them can take at most, so nothing larger is ever
//! fetched or read.

use crate::{format::HEADER_LEN, geometry::ChunkGeometry, quant::LEVELS};

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

	/// Largest payload these rules allow for a model of `shapes` (shapes the codec cannot
	/// chunk count as nothing: the decoder refuses them anyway).
	pub fn max_payload_len(&self, shapes: &[Vec<usize>]) -> usize {
		shapes
			.iter()
			.filter_map(|s| ChunkGeometry::for_shape(s).ok())
			.map(|g| self.max_tensor_len(&g))
			.fold(HEADER_LEN, usize::saturating_add)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{
		compress::{CompressConfig, Scratch, compress_tensor},
		format::{Header, IndexCoding, encode},
	};

	fn rules(k: usize, quantised: bool) -> Rules {
		Rules { k, quantised, max_value: 1.0 }
	}

	#[test]
	fn honest_payloads_fit_the_cap_and_the_cap_is_a_small_fraction_of_the_model() {
		let shapes = vec![vec![256, 128], vec![128], vec![7, 3]];
		let header =
			Header { window: 1, miner: [1; 32], theta_hash: [0; 32], data_digest: [0; 32] };
		for (k, quantised) in [(1, true), (64, true), (64, false), (4096, true)] {
			let config = CompressConfig { k, beta: 0.9, quantise: quantised, ..Default::default() };
			for coding in [IndexCoding::Packed12, IndexCoding::Rice] {
				let mut tensors = Vec::new();
				let mut scratch = Scratch::default();
				for (i, shape) in shapes.iter().enumerate() {
					let len: usize = shape.iter().product();
					let delta: Vec<f32> =
						(0..len).map(|j| ((j * 7919 + i) % 1000) as f32 * 1e-4 - 0.05).collect();
					let mut ef = vec![0.0; len];
					let g = ChunkGeometry::for_shape(shape).unwrap();
					tensors.push(
						compress_tensor(i, &mut ef, &delta, &g, &config, &mut scratch).unwrap(),
					);
				}
				let bytes = encode(&header, &tensors, coding);
				let cap = rules(k, quantised).max_payload_len(&shapes);
				assert!(bytes.len() <= cap, "k {k} {coding:?}: {} > {cap}", bytes.len());
			}
		}
		// k = 64 of 4096, quantised: the cap is about 0.03 bytes per parameter.
		let big = vec![vec![4096, 4096]];
		let cap = rules(64, true).max_payload_len(&big);
		assert!((cap as f64) < 0.03 * (4096.0 * 4096.0), "{cap}");
	}
}
