//! Helpers shared by the codec's integration tests.
#![allow(dead_code)]

use rand::{Rng, SeedableRng, rngs::SmallRng};
use tessera_codec::{
	ChunkGeometry, CompressConfig, CompressedTensor, Header, Scratch, compress_tensor,
};

/// A small model: a 2-D weight, a 1-D norm, an odd-shaped matrix, a 3-D tensor.
pub fn shapes() -> Vec<Vec<usize>> {
	vec![vec![128, 64], vec![96], vec![100, 30], vec![2, 8, 64]]
}

pub fn random(n: usize, seed: u64) -> Vec<f32> {
	let mut rng = SmallRng::seed_from_u64(seed);
	(0..n).map(|_| rng.r#gen::<f32>() * 2.0 - 1.0).collect()
}

pub fn header(window: u64) -> Header {
	Header { window, miner: [7; 32], theta_hash: [1; 32], data_digest: [2; 32] }
}

/// Compresses a random update of every tensor of `shapes()`.
pub fn compressed(seed: u64, config: CompressConfig) -> Vec<CompressedTensor> {
	shapes()
		.iter()
		.enumerate()
		.map(|(t, shape)| {
			let g = ChunkGeometry::for_shape(shape).expect("valid shape");
			let delta = random(g.len(), seed * 100 + t as u64);
			let mut e = vec![0.0; g.len()];
			compress_tensor(t, &mut e, &delta, &g, &config, &mut Scratch::default())
				.expect("compresses")
		})
		.collect()
}
