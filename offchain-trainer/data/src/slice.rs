//! Data slices: which sequences of the training split a miner trains on in a window. A pure
//! function of public inputs, so every validator recomputes it:
//!
//! ```text
//! start_i = u64_le(BLAKE2b-256(domain ‖ seed ‖ miner ‖ dataset ‖ u64_le(i))[0..8])
//!           mod (train_tokens − seq_len)            for i in 0..sequences
//! ```
//!
//! where `domain` is `b"tessera/slice/assigned/v1"` for the miner's assigned data and
//! `b"tessera/slice/random/v1"` for the validator's random comparison data, `seed` is the
//! window's on-chain seed, `miner` the miner's 32-byte account and `dataset` the corpus'
//! digest. Row `i` is the `seq_len + 1` tokens from `start_i` (inputs and shifted targets). The
//! slice's digest, carried in the payload header, is
//! `BLAKE2b-256(b"tessera/slice-digest/v1" ‖ dataset ‖ u64_le(seq_len) ‖ u64_le(n) ‖ starts as u64_le)`.

use super::{DataError, TokenShard};
use blake2::{Blake2b, Digest, digest::consts::U32};

/// How much data a slice holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceSpec {
	/// Number of sequences.
	pub sequences: usize,
	/// Tokens per sequence (each row has one more, for the shifted targets).
	pub seq_len: usize,
}

/// A slice: the start of each row in the token stream, and its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSlice {
	/// Start position of each row.
	pub starts: Vec<u64>,
	/// Tokens per sequence.
	pub seq_len: usize,
	/// Digest of the slice (payload header field).
	pub digest: [u8; 32],
}

const ASSIGNED: &[u8] = b"tessera/slice/assigned/v1";
const RANDOM: &[u8] = b"tessera/slice/random/v1";

fn slice(
	domain: &[u8],
	seed: &[u8; 32],
	miner: &[u8; 32],
	dataset: &[u8; 32],
	train_tokens: u64,
	spec: SliceSpec,
) -> Result<DataSlice, DataError> {
	let span = train_tokens.saturating_sub(spec.seq_len as u64);
	if span == 0 || spec.seq_len == 0 {
		return Err(DataError::TooShort { tokens: train_tokens, seq_len: spec.seq_len });
	}
	let starts: Vec<u64> = (0..spec.sequences as u64)
		.map(|i| {
			let mut h = Blake2b::<U32>::new();
			h.update(domain);
			h.update(seed);
			h.update(miner);
			h.update(dataset);
			h.update(i.to_le_bytes());
			let out = h.finalize();
			let mut word = [0u8; 8];
			word.copy_from_slice(&out[..8]);
			u64::from_le_bytes(word) % span
		})
		.collect();
	let mut h = Blake2b::<U32>::new();
	h.update(b"tessera/slice-digest/v1");
	h.update(dataset);
	h.update((spec.seq_len as u64).to_le_bytes());
	h.update((starts.len() as u64).to_le_bytes());
	for s in &starts {
		h.update(s.to_le_bytes());
	}
	Ok(DataSlice { starts, seq_len: spec.seq_len, digest: h.finalize().into() })
}

/// The slice `miner` trains on in the window with `seed`.
pub fn assigned_slice(
	seed: &[u8; 32],
	miner: &[u8; 32],
	dataset: &[u8; 32],
	train_tokens: u64,
	spec: SliceSpec,
) -> Result<DataSlice, DataError> {
	slice(ASSIGNED, seed, miner, dataset, train_tokens, spec)
}

/// The random comparison data a validator evaluates `miner`'s update on, drawn with `seed`:
/// validators pass the *next* window's seed, which does not exist until the window's
/// commitments closed, so a miner cannot know these rows while it trains.
pub fn random_slice(
	seed: &[u8; 32],
	miner: &[u8; 32],
	dataset: &[u8; 32],
	train_tokens: u64,
	spec: SliceSpec,
) -> Result<DataSlice, DataError> {
	slice(RANDOM, seed, miner, dataset, train_tokens, spec)
}

impl DataSlice {
	/// The rows (`seq_len + 1` tokens each) from `shard`.
	pub fn rows(&self, shard: &TokenShard) -> Result<Vec<Vec<u16>>, DataError> {
		self.starts.iter().map(|&s| shard.tokens(s, self.seq_len + 1)).collect()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const SPEC: SliceSpec = SliceSpec { sequences: 64, seq_len: 32 };

	#[test]
	fn golden_values_pin_the_documented_function() {
		let s = assigned_slice(&[1; 32], &[2; 32], &[3; 32], 1_000_000, SPEC).unwrap();
		// Recomputed independently from the formula in the module docs.
		let mut h = Blake2b::<U32>::new();
		h.update(b"tessera/slice/assigned/v1");
		h.update([1u8; 32]);
		h.update([2u8; 32]);
		h.update([3u8; 32]);
		h.update(0u64.to_le_bytes());
		let out = h.finalize();
		let first = u64::from_le_bytes(out[..8].try_into().unwrap()) % (1_000_000 - 32);
		assert_eq!(s.starts[0], first);
		assert_eq!(s.starts.len(), 64);
		assert!(s.starts.iter().all(|&x| x < 1_000_000 - 32));
	}

	#[test]
	fn slices_differ_by_seed_miner_dataset_and_domain_and_repeat_exactly() {
		let base = assigned_slice(&[1; 32], &[2; 32], &[3; 32], 1_000_000, SPEC).unwrap();
		assert_eq!(base, assigned_slice(&[1; 32], &[2; 32], &[3; 32], 1_000_000, SPEC).unwrap());
		for other in [
			assigned_slice(&[9; 32], &[2; 32], &[3; 32], 1_000_000, SPEC).unwrap(),
			assigned_slice(&[1; 32], &[9; 32], &[3; 32], 1_000_000, SPEC).unwrap(),
			assigned_slice(&[1; 32], &[2; 32], &[9; 32], 1_000_000, SPEC).unwrap(),
			random_slice(&[1; 32], &[2; 32], &[3; 32], 1_000_000, SPEC).unwrap(),
		] {
			assert_ne!(other.starts, base.starts);
			assert_ne!(other.digest, base.digest);
		}
	}

	#[test]
	fn a_split_shorter_than_a_sequence_is_refused() {
		assert!(matches!(
			assigned_slice(&[1; 32], &[2; 32], &[3; 32], 32, SPEC),
			Err(DataError::TooShort { tokens: 32, seq_len: 32 })
		));
	}
}
