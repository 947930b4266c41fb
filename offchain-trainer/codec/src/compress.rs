//! Compression with error feedback (DESIGN.md §4): for each tensor, `e ← β·e + Δ`; keep the
//! top-k of `e` by magnitude in every chunk; quantise the kept values to 2 bits; then
//! `e ← e − decoded(sent)`, so whatever was not sent (or was sent inexactly) is retried later.

use crate::{
	error::CodecError,
	geometry::ChunkGeometry,
	quant::{LEVELS, Quantiser},
	topk::{Histogram, TopKScratch, select_top_k_counted},
};

/// Compression settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompressConfig {
	/// Values kept per chunk (capped at the chunk's size). Default 64.
	pub k: usize,
	/// Error-feedback decay β in `e ← β·e + Δ`. Default 0.95.
	pub beta: f32,
	/// Quantise kept values to 2 bits (default); `false` sends them as raw f32.
	pub quantise: bool,
	/// Largest magnitude sent (the run's largest update value): a kept value beyond it is sent
	/// as ±`max_value` and the rest stays in the error-feedback buffer, so an honest update is
	/// never refused for it. Default: no limit (`f32::MAX`).
	pub max_value: f32,
}

impl Default for CompressConfig {
	fn default() -> Self {
		Self { k: 64, beta: 0.95, quantise: true, max_value: f32::MAX }
	}
}

impl CompressConfig {
	pub(crate) fn validate(&self) -> Result<(), CodecError> {
		if self.k == 0 || self.k > crate::geometry::MAX_CHUNK_LEN {
			return Err(CodecError::BadConfig("k must be in 1..=4096"));
		}
		if !(0.0..=1.0).contains(&self.beta) {
			return Err(CodecError::BadConfig("beta must be in [0, 1]"));
		}
		if self.max_value.is_nan() || self.max_value <= 0.0 {
			return Err(CodecError::BadConfig("max_value must be positive"));
		}
		Ok(())
	}
}

/// The kept values of a tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
	/// 2-bit codes (one byte each here, bit-packed on the wire) and their table.
	Quantised {
		/// One code in `0..4` per kept value.
		codes: Vec<u8>,
		/// Decoded value of each code (finite, non-decreasing).
		table: [f32; LEVELS],
	},
	/// Raw values (no quantisation).
	Raw(Vec<f32>),
}

/// One tensor's compressed update.
#[derive(Clone, Debug, PartialEq)]
pub struct CompressedTensor {
	/// How the tensor is chunked.
	pub geometry: ChunkGeometry,
	/// Values kept per chunk.
	pub k: usize,
	/// `num_chunks × k` positions, ascending inside each chunk.
	pub indices: Vec<u16>,
	/// The kept values, aligned with `indices`.
	pub values: Values,
}

impl CompressedTensor {
	/// Decoded value of kept entry `i`.
	#[inline]
	pub fn value(&self, i: usize) -> f32 {
		match &self.values {
			Values::Quantised { codes, table } => table[codes[i] as usize],
			Values::Raw(v) => v[i],
		}
	}

	/// Calls `f(offset, value)` for every kept entry, chunk by chunk.
	pub fn for_each(&self, mut f: impl FnMut(usize, f32)) {
		let k = self.k;
		for (i, &pos) in self.indices.iter().enumerate() {
			f(self.geometry.offset(i / k, pos as usize), self.value(i));
		}
	}

	/// The update as a dense tensor (zeros where nothing was kept).
	pub fn to_dense(&self) -> Vec<f32> {
		let mut dense = vec![0.0; self.geometry.len()];
		self.for_each(|o, v| dense[o] = v);
		dense
	}
}

/// Reusable per-thread buffers.
#[derive(Default)]
pub struct Scratch {
	chunk: Vec<f32>,
	histogram: Histogram,
	topk: TopKScratch,
}

/// Compresses one tensor's update `delta` into `error` (its error-feedback buffer), which is
/// updated in place. `tensor` only labels errors.
///
/// On `NonFiniteInput` nothing changes; on `ErrorFeedbackOverflow` the buffer is reset to 0.
pub fn compress_tensor(
	tensor: usize,
	error: &mut [f32],
	delta: &[f32],
	geometry: &ChunkGeometry,
	config: &CompressConfig,
	scratch: &mut Scratch,
) -> Result<CompressedTensor, CodecError> {
	compress_tensor_threaded(tensor, error, delta, geometry, config, std::slice::from_mut(scratch))
}

/// One row of chunks: its slice of the error buffer and update, and its share of the output.
struct Block<'a> {
	error: &'a mut [f32],
	delta: &'a [f32],
	indices: &'a mut [u16],
	kept: &'a mut [f32],
}

/// [`compress_tensor`] on one thread per [`Scratch`] in `scratch`. Work is split by rows of
/// chunks, each computed exactly as on one thread, and the quantiser is fitted on the kept values
/// in chunk order: the result is the same for any thread count.
pub fn compress_tensor_threaded(
	tensor: usize,
	error: &mut [f32],
	delta: &[f32],
	geometry: &ChunkGeometry,
	config: &CompressConfig,
	scratch: &mut [Scratch],
) -> Result<CompressedTensor, CodecError> {
	config.validate()?;
	let n = geometry.len();
	for (what, got) in [("error buffer", error.len()), ("update", delta.len())] {
		if got != n {
			return Err(CodecError::LengthMismatch { tensor, what, got, expected: n });
		}
	}
	if !all_finite(delta) {
		return Err(CodecError::NonFiniteInput { tensor });
	}

	let k = config.k.min(geometry.chunk_len());
	let chunks = geometry.num_chunks();
	let mut indices = vec![0u16; chunks * k];
	let mut kept = vec![0f32; chunks * k];
	let block_len = geometry.chunk_rows * geometry.cols;
	let per_block = geometry.chunks_across() * k;
	let mut blocks: Vec<Block<'_>> = error
		.chunks_mut(block_len)
		.zip(delta.chunks(block_len))
		.zip(indices.chunks_mut(per_block).zip(kept.chunks_mut(per_block)))
		.map(|((error, delta), (indices, kept))| Block { error, delta, indices, kept })
		.collect();

	let mut fallback = Scratch::default();
	let overflow = match scratch {
		[] => blocks.iter_mut().any(|b| !select_block(b, geometry, k, config.beta, &mut fallback)),
		[only] => blocks.iter_mut().any(|b| !select_block(b, geometry, k, config.beta, only)),
		many => {
			let workers = many.len().min(blocks.len().max(1));
			let per_worker = blocks.len().div_ceil(workers);
			std::thread::scope(|s| {
				let handles: Vec<_> = blocks
					.chunks_mut(per_worker)
					.zip(many.iter_mut())
					.map(|(group, sc)| {
						s.spawn(move || {
							group.iter_mut().any(|b| !select_block(b, geometry, k, config.beta, sc))
						})
					})
					.collect();
				// Join every worker before looking at the results.
				let results: Vec<bool> = handles
					.into_iter()
					.map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
					.collect();
				results.into_iter().any(|o| o)
			})
		},
	};
	drop(blocks);
	if overflow {
		error.fill(0.0);
		return Err(CodecError::ErrorFeedbackOverflow { tensor });
	}

	// What is sent stays within the run's largest value; the rest is fed back below.
	for v in kept.iter_mut() {
		*v = v.clamp(-config.max_value, config.max_value);
	}
	let values = if config.quantise {
		let q = Quantiser::fit(&kept);
		Values::Quantised { codes: kept.iter().map(|&v| q.code(v)).collect(), table: q.table }
	} else {
		Values::Raw(kept)
	};
	let compressed = CompressedTensor { geometry: *geometry, k, indices, values };
	// e ← e − decoded(sent).
	compressed.for_each(|o, v| error[o] -= v);
	Ok(compressed)
}

/// Whether no value is NaN or ±∞: a branch-free fold the compiler vectorises.
fn all_finite(values: &[f32]) -> bool {
	const EXPONENT: u32 = 0x7f80_0000;
	values.iter().fold(true, |ok, v| ok & (v.to_bits() & EXPONENT != EXPONENT))
}

/// Applies `e ← β·e + Δ` to one row of chunks and selects each chunk's top-k. Returns `false` if
/// the error feedback overflowed.
///
/// The update streams through the row block in memory order (what the hardware prefetcher
/// wants) and scatters each 64-value run into a chunk-contiguous buffer; selection then reads
/// each chunk from there.
fn select_block(
	block: &mut Block<'_>,
	geometry: &ChunkGeometry,
	k: usize,
	beta: f32,
	scratch: &mut Scratch,
) -> bool {
	let (cr, cc, cols) = (geometry.chunk_rows, geometry.chunk_cols, geometry.cols);
	let chunk_len = geometry.chunk_len();
	let Scratch { chunk: buffer, histogram, topk } = scratch;
	buffer.resize(geometry.chunks_across() * chunk_len, 0.0);
	let mut finite = true;
	for r in 0..cr {
		let e_row = &mut block.error[r * cols..(r + 1) * cols];
		let d_row = &block.delta[r * cols..(r + 1) * cols];
		for (across, (e_run, d_run)) in
			e_row.chunks_exact_mut(cc).zip(d_row.chunks_exact(cc)).enumerate()
		{
			let start = across * chunk_len + r * cc;
			let out = &mut buffer[start..start + cc];
			for ((e, &d), o) in e_run.iter_mut().zip(d_run).zip(out.iter_mut()) {
				let v = beta * *e + d;
				*e = v;
				*o = v;
				finite &= v.is_finite();
			}
		}
	}
	if !finite {
		return false;
	}
	for (across, chunk) in buffer.chunks_exact(chunk_len).enumerate() {
		histogram.fill(chunk);
		let idx = &mut block.indices[across * k..(across + 1) * k];
		select_top_k_counted(chunk, histogram, idx, topk);
		for (slot, &pos) in block.kept[across * k..(across + 1) * k].iter_mut().zip(idx.iter()) {
			*slot = chunk[pos as usize];
		}
	}
	true
}

#[cfg(test)]
mod tests {
	use super::*;
	use rand::{Rng, SeedableRng, rngs::SmallRng};

	fn random(n: usize, seed: u64) -> Vec<f32> {
		let mut rng = SmallRng::seed_from_u64(seed);
		(0..n).map(|_| rng.r#gen::<f32>() * 2.0 - 1.0).collect()
	}

	fn compress(
		shape: &[usize],
		delta: &[f32],
		config: CompressConfig,
	) -> (CompressedTensor, Vec<f32>) {
		let g = ChunkGeometry::for_shape(shape).expect("valid shape");
		let mut e = vec![0.0; g.len()];
		let c = compress_tensor(0, &mut e, delta, &g, &config, &mut Scratch::default())
			.expect("compresses");
		(c, e)
	}

	#[test]
	fn exactly_k_unique_indices_per_chunk() {
		let delta = random(128 * 192, 1);
		let (c, _) = compress(&[128, 192], &delta, CompressConfig::default());
		assert_eq!(c.geometry.num_chunks(), 6);
		for chunk in c.indices.chunks(c.k) {
			assert_eq!(chunk.len(), 64);
			assert!(chunk.windows(2).all(|w| w[0] < w[1]), "strictly ascending, hence unique");
		}
	}

	#[test]
	fn selected_magnitudes_dominate_unselected() {
		let delta = random(64 * 64 * 2, 2);
		let (c, _) = compress(&[128, 64], &delta, CompressConfig::default());
		for chunk in 0..c.geometry.num_chunks() {
			let sel = &c.indices[chunk * c.k..(chunk + 1) * c.k];
			let min_sel = sel
				.iter()
				.map(|&p| delta[c.geometry.offset(chunk, p as usize)].abs())
				.fold(f32::INFINITY, f32::min);
			let max_unsel = (0..c.geometry.chunk_len() as u16)
				.filter(|p| !sel.contains(p))
				.map(|p| delta[c.geometry.offset(chunk, p as usize)].abs())
				.fold(0.0, f32::max);
			assert!(min_sel >= max_unsel);
		}
	}

	#[test]
	fn error_feedback_is_exactly_e_minus_sent() {
		let g = ChunkGeometry::for_shape(&[64, 128]).expect("valid");
		let config = CompressConfig::default();
		let mut e = random(g.len(), 3);
		let delta = random(g.len(), 4);
		let before: Vec<f32> = e.iter().zip(&delta).map(|(e, d)| config.beta * e + d).collect();
		let c = compress_tensor(0, &mut e, &delta, &g, &config, &mut Scratch::default())
			.expect("compresses");
		let sent = c.to_dense();
		for i in 0..g.len() {
			// The buffer after is bit-for-bit `before − sent`, and untouched where nothing was sent.
			assert_eq!(e[i].to_bits(), (before[i] - sent[i]).to_bits());
			if sent[i] == 0.0 {
				assert_eq!(e[i].to_bits(), before[i].to_bits());
			}
			// `before = sent + after` up to the two roundings of f32 arithmetic.
			let scale = before[i].abs().max(sent[i].abs());
			assert!((sent[i] + e[i] - before[i]).abs() <= 2.0 * f32::EPSILON * scale);
		}
	}

	/// Issue 17 item 4: what is sent stays within the run's largest value (so an honest
	/// payload is never refused for it), and what is clamped away stays in the buffer.
	#[test]
	fn values_beyond_the_largest_are_clamped_and_fed_back() {
		let g = ChunkGeometry::for_shape(&[64, 64]).expect("valid");
		let delta: Vec<f32> = (0..g.len()).map(|i| (i % 97) as f32 * 0.05 - 2.4).collect();
		for quantise in [false, true] {
			let config = CompressConfig { quantise, max_value: 0.5, ..Default::default() };
			let mut e = vec![0.0; g.len()];
			let c = compress_tensor(0, &mut e, &delta, &g, &config, &mut Scratch::default())
				.expect("compresses");
			let sent = c.to_dense();
			assert!(sent.iter().all(|v| v.abs() <= 0.5), "quantise {quantise}");
			if !quantise {
				assert!(sent.iter().any(|v| v.abs() == 0.5), "the largest values were clamped");
			}
			for i in 0..g.len() {
				assert_eq!(e[i].to_bits(), (delta[i] - sent[i]).to_bits(), "e = before − sent");
			}
		}
	}

	#[test]
	fn residual_energy_is_bounded() {
		// Without quantisation the residual of a chunk is its unselected values, so its energy
		// is at most (1 − k/n) of the chunk's energy.
		let delta = random(64 * 64 * 4, 5);
		let config = CompressConfig { quantise: false, ..Default::default() };
		let (_, e) = compress(&[256, 64], &delta, config);
		let total: f64 = delta.iter().map(|&v| f64::from(v).powi(2)).sum();
		let residual: f64 = e.iter().map(|&v| f64::from(v).powi(2)).sum();
		assert!(residual <= total * (1.0 - 64.0 / 4096.0) + 1e-9);
		// With quantisation the kept values are approximated: the residual stays below the total.
		let (_, e) = compress(&[256, 64], &delta, CompressConfig::default());
		let residual_q: f64 = e.iter().map(|&v| f64::from(v).powi(2)).sum();
		assert!(residual_q < total);
	}

	#[test]
	fn full_k_without_quantisation_sends_everything() {
		let delta = random(32 * 48, 6);
		let config = CompressConfig { k: 4096, quantise: false, ..Default::default() };
		let (c, e) = compress(&[32, 48], &delta, config);
		assert_eq!(c.to_dense(), delta);
		assert!(e.iter().all(|&v| v == 0.0));
	}

	#[test]
	fn non_finite_update_is_rejected_without_change() {
		let g = ChunkGeometry::for_shape(&[64]).expect("valid");
		let mut e = vec![0.5; 64];
		let mut delta = vec![0.0; 64];
		delta[10] = f32::NAN;
		let err = compress_tensor(
			3,
			&mut e,
			&delta,
			&g,
			&CompressConfig::default(),
			&mut Scratch::default(),
		);
		assert_eq!(err, Err(CodecError::NonFiniteInput { tensor: 3 }));
		assert!(e.iter().all(|&v| v == 0.5));
	}

	#[test]
	fn overflow_resets_the_buffer() {
		let g = ChunkGeometry::for_shape(&[64]).expect("valid");
		let mut e = vec![f32::MAX; 64];
		let delta = vec![f32::MAX; 64];
		let config = CompressConfig { beta: 1.0, ..Default::default() };
		let err = compress_tensor(0, &mut e, &delta, &g, &config, &mut Scratch::default());
		assert_eq!(err, Err(CodecError::ErrorFeedbackOverflow { tensor: 0 }));
		assert!(e.iter().all(|&v| v == 0.0));
	}

	#[test]
	fn threaded_compression_is_identical_for_any_thread_count() {
		let g = ChunkGeometry::for_shape(&[64 * 7, 128]).expect("valid");
		let delta = random(g.len(), 8);
		let config = CompressConfig::default();
		let mut e1 = random(g.len(), 9);
		let mut e4 = e1.clone();
		let one =
			compress_tensor(0, &mut e1, &delta, &g, &config, &mut Scratch::default()).expect("ok");
		let mut scratch: Vec<Scratch> = (0..4).map(|_| Scratch::default()).collect();
		let four =
			compress_tensor_threaded(0, &mut e4, &delta, &g, &config, &mut scratch).expect("ok");
		assert_eq!(one, four);
		assert!(e1.iter().zip(&e4).all(|(a, b)| a.to_bits() == b.to_bits()));
	}

	#[test]
	fn bad_config_and_lengths() {
		let g = ChunkGeometry::for_shape(&[64]).expect("valid");
		let mut s = Scratch::default();
		let bad_k = CompressConfig { k: 0, ..Default::default() };
		assert!(matches!(
			compress_tensor(0, &mut [0.0; 64], &[0.0; 64], &g, &bad_k, &mut s),
			Err(CodecError::BadConfig(_))
		));
		assert!(matches!(
			compress_tensor(0, &mut [0.0; 63], &[0.0; 64], &g, &CompressConfig::default(), &mut s),
			Err(CodecError::LengthMismatch { .. })
		));
	}
}
