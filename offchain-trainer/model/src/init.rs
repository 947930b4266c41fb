//! θ_0: the initial parameters, drawn from a ChaCha8 stream seeded by the config's `init_seed` and
//! the parameter's name, so every peer (and every run of the tests) starts from the same bits.

use blake2::{Blake2b, Digest, digest::consts::U32};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `n` values from N(0, std²), deterministic in `(seed, name)`.
pub fn normal(seed: u64, name: &str, n: usize, std: f32) -> Vec<f32> {
	let mut hasher = Blake2b::<U32>::new();
	hasher.update(b"tessera/init/v1");
	hasher.update(seed.to_le_bytes());
	hasher.update(name.as_bytes());
	let key: [u8; 32] = hasher.finalize().into();
	let mut rng = ChaCha8Rng::from_seed(key);
	match Normal::new(0.0f32, std) {
		Ok(dist) => (0..n).map(|_| dist.sample(&mut rng)).collect(),
		// `std` is validated positive and finite by the config; zeros are the safe fallback.
		Err(_) => vec![0.0; n],
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn same_seed_and_name_give_the_same_bits_and_names_differ() {
		let a = normal(7, "layers.0.wq", 1000, 0.02);
		assert_eq!(a, normal(7, "layers.0.wq", 1000, 0.02));
		assert_ne!(a, normal(7, "layers.0.wk", 1000, 0.02));
		assert_ne!(a, normal(8, "layers.0.wq", 1000, 0.02));
		let mean = a.iter().sum::<f32>() / 1000.0;
		let var = a.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / 1000.0;
		assert!(mean.abs() < 0.003 && (var.sqrt() - 0.02).abs() < 0.003, "{mean} {var}");
	}
}
