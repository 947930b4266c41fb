//! The outer step (DESIGN.md §2 step 6): given θ_w and the aggregation set's decoded updates in
//! on-chain order, clip each peer's per-tensor norm to the median across peers, take the
//! scatter-mean (each coordinate averaged over the peers that sent it), and apply outer SGD
//! `θ ← θ − lr · mean`.
//!
//! Bit-identical on every peer: work is split by chunk, never by peer, and inside a chunk the
//! peers are visited in the given order with fixed-order f64 sums; the final update is plain f32
//! arithmetic (no fused multiply-add). Thread count and payload arrival order cannot change a bit.

use crate::{compress::CompressedTensor, error::CodecError};
use std::thread;

/// Outer-step settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OuterStep {
	/// Outer learning rate.
	pub lr: f32,
	/// Worker threads (≥ 1); the result does not depend on it.
	pub threads: usize,
}

impl Default for OuterStep {
	fn default() -> Self {
		Self { lr: 0.7, threads: thread::available_parallelism().map_or(1, |n| n.get()) }
	}
}

/// The L2 norm of a compressed tensor's decoded values (f64, in storage order).
pub fn norm(t: &CompressedTensor) -> f64 {
	(0..t.indices.len()).map(|i| f64::from(t.value(i)).powi(2)).sum::<f64>().sqrt()
}

/// Median of `values` (mean of the two middle ones for an even count); 0 when empty.
pub fn median(values: &[f64]) -> f64 {
	let mut v = values.to_vec();
	v.sort_by(f64::total_cmp);
	match v.len() {
		0 => 0.0,
		n if n % 2 == 1 => v[n / 2],
		n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
	}
}

/// Applies the outer step to `theta` (one buffer per model tensor) with `peers[p][t]` the
/// decoded tensor `t` of peer `p`, peers in on-chain order. Every peer must cover every tensor
/// with the tensor's geometry (true of anything `format::decode` accepted for this model).
pub fn apply_outer_step<P: AsRef<[CompressedTensor]>>(
	theta: &mut [Vec<f32>],
	peers: &[P],
	step: &OuterStep,
) -> Result<(), CodecError> {
	check_peers(&theta.iter().map(Vec::len).collect::<Vec<_>>(), peers)?;
	if peers.is_empty() {
		return Ok(());
	}
	for (t, th) in theta.iter_mut().enumerate() {
		let tensors: Vec<&CompressedTensor> = peers.iter().map(|p| &p.as_ref()[t]).collect();
		apply_tensor(th, &tensors, step);
	}
	Ok(())
}

/// Checks that every peer covers every tensor (of lengths `lens`) with the tensor's length.
pub(crate) fn check_peers<P: AsRef<[CompressedTensor]>>(
	lens: &[usize],
	peers: &[P],
) -> Result<(), CodecError> {
	for (p, peer) in peers.iter().map(AsRef::as_ref).enumerate() {
		if peer.len() != lens.len() {
			return Err(CodecError::LengthMismatch {
				tensor: p,
				what: "peer's tensor list",
				got: peer.len(),
				expected: lens.len(),
			});
		}
		for (t, (ct, &len)) in peer.iter().zip(lens).enumerate() {
			if ct.geometry.len() != len {
				return Err(CodecError::LengthMismatch {
					tensor: t,
					what: "peer's tensor",
					got: ct.geometry.len(),
					expected: len,
				});
			}
		}
	}
	Ok(())
}

/// Clip factor of each peer: `median / norm` above the median, else 1.
pub(crate) fn clip_factors(tensors: &[&CompressedTensor]) -> Vec<f64> {
	let norms: Vec<f64> = tensors.iter().map(|t| norm(t)).collect();
	let med = median(&norms);
	norms.iter().map(|&n| if n > med && n > 0.0 { med / n } else { 1.0 }).collect()
}

fn apply_tensor(theta: &mut [f32], tensors: &[&CompressedTensor], step: &OuterStep) {
	let factors = clip_factors(tensors);
	let g = tensors[0].geometry;
	let chunks = g.num_chunks();
	let threads = step.threads.clamp(1, chunks.max(1));
	let per_thread = chunks.div_ceil(threads);
	let lr = step.lr;

	// Each thread owns a contiguous range of chunks and returns (offset, new value) pairs; the
	// writes are disjoint, so the order they are applied in is irrelevant.
	let updates: Vec<Vec<(usize, f32)>> = thread::scope(|s| {
		let handles: Vec<_> = (0..threads)
			.map(|i| {
				let range = (i * per_thread).min(chunks)..((i + 1) * per_thread).min(chunks);
				let theta = &*theta;
				let factors = &factors;
				s.spawn(move || {
					let mut sum = vec![0f64; g.chunk_len()];
					let mut count = vec![0u32; g.chunk_len()];
					let mut out = Vec::new();
					for chunk in range {
						for (t, &f) in tensors.iter().zip(factors) {
							let k = t.k;
							for j in chunk * k..(chunk + 1) * k {
								let pos = t.indices[j] as usize;
								sum[pos] += f * f64::from(t.value(j));
								count[pos] += 1;
							}
						}
						for pos in 0..g.chunk_len() {
							if count[pos] > 0 {
								let mean = (sum[pos] / f64::from(count[pos])) as f32;
								let o = g.offset(chunk, pos);
								out.push((o, theta[o] - lr * mean));
								sum[pos] = 0.0;
								count[pos] = 0;
							}
						}
					}
					out
				})
			})
			.collect();
		handles
			.into_iter()
			.map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
			.collect()
	});
	for (o, v) in updates.into_iter().flatten() {
		theta[o] = v;
	}
}
