//! Loss of θ_w and of θ_w plus one miner's update, on the miner's assigned data and on random
//! data (DESIGN.md §5). The update is applied alone, as the outer step would apply it: each
//! tensor clipped to the median of that tensor's norms across the window's evaluated updates,
//! then `θ ← θ − lr · Δ`. Assigned rows are the first `sequences` rows of the miner's slice (a
//! prefix of what it trained on, whatever its step count); random rows come from the miner's
//! random slice (`data::random_slice`) drawn with the *next* window's seed — the hash of the
//! window's last block, which exists only once commitments have closed — so a miner cannot know
//! them while it trains (issue 17 item 6). Every validator reads the same seed from the chain.

use std::collections::BTreeMap;
use tessera_codec::{Payload, aggregate::median, aggregate::norm};
use tessera_data::{DataError, SliceSpec, TokenShard, assigned_slice, random_slice};
use tessera_model::{Llama, ModelError};

/// The four losses of one update, in nats per token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Losses {
	/// θ_w on the assigned rows.
	pub before_assigned: f64,
	/// θ_w + update on the assigned rows.
	pub after_assigned: f64,
	/// θ_w on the random rows.
	pub before_random: f64,
	/// θ_w + update on the random rows.
	pub after_random: f64,
}

impl Losses {
	/// Improvement on the assigned rows (positive: the update helps).
	pub fn assigned_gain(&self) -> f64 {
		self.before_assigned - self.after_assigned
	}

	/// Improvement on the random rows.
	pub fn random_gain(&self) -> f64 {
		self.before_random - self.after_random
	}

	/// Relative improvement on random data: the gradient score.
	pub fn gradient_score(&self) -> f64 {
		self.random_gain() / self.before_random
	}
}

/// Errors of an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
	/// The model failed.
	#[error(transparent)]
	Model(#[from] ModelError),
	/// The data could not be read.
	#[error(transparent)]
	Data(#[from] DataError),
}

/// What an evaluation needs besides the updates.
pub struct EvalInput<'a> {
	/// The model (its parameters are overwritten and restored to `theta`).
	pub model: &'a Llama,
	/// θ_w.
	pub theta: &'a [Vec<f32>],
	/// The corpus.
	pub shard: &'a TokenShard,
	/// The window's seed (the assigned rows).
	pub seed: &'a [u8; 32],
	/// The next window's seed (the random rows): unknown until the window's commitments closed.
	pub random_seed: &'a [u8; 32],
	/// Rows evaluated per data kind.
	pub sequences: usize,
	/// Rows per forward pass.
	pub batch: usize,
	/// The outer learning rate.
	pub lr: f32,
}

/// Median norm of each tensor over `payloads`.
fn median_norms(payloads: &[&Payload]) -> Vec<f64> {
	let tensors = payloads.first().map_or(0, |p| p.tensors.len());
	(0..tensors)
		.map(|t| median(&payloads.iter().map(|p| norm(&p.tensors[t])).collect::<Vec<_>>()))
		.collect()
}

/// θ + one update alone: each tensor clipped to `clip[t]`, scaled by `lr`.
fn apply_alone(theta: &[Vec<f32>], payload: &Payload, clip: &[f64], lr: f32) -> Vec<Vec<f32>> {
	let mut out = theta.to_vec();
	for ((th, t), &limit) in out.iter_mut().zip(&payload.tensors).zip(clip) {
		let n = norm(t);
		let factor = if n > limit && n > 0.0 { (limit / n) as f32 } else { 1.0 };
		t.for_each(|o, v| th[o] -= lr * factor * v);
	}
	out
}

/// The model's mean loss at θ + one update alone (each tensor clipped to `clip[t]`, scaled by
/// `lr`) on each of `row_sets`; the model is left at θ + update. The Gauntlet's work per payload
/// once θ's own losses are known.
pub fn losses_after<const N: usize>(
	model: &Llama,
	theta: &[Vec<f32>],
	payload: &Payload,
	clip: &[f64],
	lr: f32,
	row_sets: [&[Vec<u16>]; N],
	batch: usize,
) -> Result<[f64; N], ModelError> {
	model.params().set_from_vecs(&apply_alone(theta, payload, clip, lr))?;
	let mut out = [0.0; N];
	for (o, rows) in out.iter_mut().zip(row_sets) {
		*o = model.mean_loss(rows, batch)?;
	}
	Ok(out)
}

/// Median norm of each tensor over `payloads` (the clip limits of a window's updates).
pub fn clip_limits(payloads: &[&Payload]) -> Vec<f64> {
	median_norms(payloads)
}

/// Rows of tokens, `seq_len + 1` each.
pub type Rows = Vec<Vec<u16>>;

/// The assigned and random rows `miner`'s update is evaluated on: `(assigned, random)`.
pub fn evaluation_rows(
	input: &EvalInput<'_>,
	miner: &[u8; 32],
) -> Result<(Rows, Rows), EvaluateError> {
	let dataset = input.shard.manifest().dataset_digest_bytes()?;
	let spec = SliceSpec { sequences: input.sequences, seq_len: input.model.config().seq_len };
	let train = input.shard.train_tokens();
	Ok((
		assigned_slice(input.seed, miner, &dataset, train, spec)?.rows(input.shard)?,
		random_slice(input.random_seed, miner, &dataset, train, spec)?.rows(input.shard)?,
	))
}

/// The losses of θ_w on `miner`'s assigned and random rows: `(assigned, random)`. Needs only
/// θ_w and the two seeds, so a validator computes it during the reveal period, before the
/// updates are in.
pub fn before_losses(input: &EvalInput<'_>, miner: &[u8; 32]) -> Result<(f64, f64), EvaluateError> {
	let (assigned, random) = evaluation_rows(input, miner)?;
	input.model.params().set_from_vecs(input.theta)?;
	Ok((
		input.model.mean_loss(&assigned, input.batch)?,
		input.model.mean_loss(&random, input.batch)?,
	))
}

/// Evaluates each `(miner, payload)` of the window; the model is left at θ_w. `known` holds
/// before-losses computed earlier ([`before_losses`]); the others are computed here. Payloads
/// are expected to have decoded for this model.
pub fn evaluate_window(
	input: &EvalInput<'_>,
	updates: &[([u8; 32], &Payload)],
	known: &BTreeMap<[u8; 32], (f64, f64)>,
) -> Result<Vec<Losses>, EvaluateError> {
	let payloads: Vec<&Payload> = updates.iter().map(|(_, p)| *p).collect();
	let clip = median_norms(&payloads);
	let params = input.model.params();
	let mut out = Vec::with_capacity(updates.len());
	for (miner, payload) in updates {
		let (ba, br) = match known.get(miner) {
			Some(b) => *b,
			None => before_losses(input, miner)?,
		};
		let (assigned, random) = evaluation_rows(input, miner)?;
		let after = losses_after(
			input.model,
			input.theta,
			payload,
			&clip,
			input.lr,
			[&assigned, &random],
			input.batch,
		)?;
		out.push(Losses {
			before_assigned: ba,
			after_assigned: after[0],
			before_random: br,
			after_random: after[1],
		});
	}
	params.set_from_vecs(input.theta)?;
	Ok(out)
}

#[cfg(test)]
mod tests {
	use super::*;
	use tessera_codec::{ChunkGeometry, CompressedTensor, Header, Values};

	fn payload(values: Vec<f32>) -> Payload {
		Payload {
			header: Header { window: 1, miner: [0; 32], theta_hash: [0; 32], data_digest: [0; 32] },
			tensors: vec![CompressedTensor {
				geometry: ChunkGeometry::for_shape(&[2]).unwrap(),
				k: 2,
				indices: vec![0, 1],
				values: Values::Raw(values),
			}],
		}
	}

	#[test]
	fn an_update_alone_is_clipped_to_the_median_norm_and_scaled() {
		let small = payload(vec![3.0, 4.0]); // norm 5
		let large = payload(vec![30.0, 40.0]); // norm 50
		let mid = payload(vec![6.0, 8.0]); // norm 10
		let clip = median_norms(&[&small, &large, &mid]);
		assert_eq!(clip, vec![10.0]);
		let theta = vec![vec![1.0f32, 1.0]];
		assert_eq!(apply_alone(&theta, &small, &clip, 0.5), vec![vec![-0.5, -1.0]]);
		// 50 → clipped to 10: (6, 8) · 0.5.
		assert_eq!(apply_alone(&theta, &large, &clip, 0.5), vec![vec![-2.0, -3.0]]);
	}

	#[test]
	fn gains_and_gradient_score_follow_the_definitions() {
		let l = Losses {
			before_assigned: 5.0,
			after_assigned: 4.0,
			before_random: 5.0,
			after_random: 4.5,
		};
		assert_eq!(l.assigned_gain(), 1.0);
		assert_eq!(l.random_gain(), 0.5);
		assert_eq!(l.gradient_score(), 0.1);
	}
}
