//! What both codec benches (`codec`, the table, and `criterion`) measure on: seeded random
//! tensors, peers' payloads of one square tensor, and their decoding as every peer does it
//! before the outer step.

use rand::{Rng, SeedableRng, rngs::SmallRng};
use tessera_codec::{
	ChunkGeometry, CompressConfig, CompressedTensor, Expected, Header, IndexCoding, Scratch,
	compress_tensor, decode, encode,
};

/// `n` values uniform in [−1, 1), seeded.
pub fn random(n: usize, seed: u64) -> Vec<f32> {
	let mut rng = SmallRng::seed_from_u64(seed);
	(0..n).map(|_| rng.r#gen::<f32>() * 2.0 - 1.0).collect()
}

/// Peer `peer`'s header for window 1.
pub fn header(peer: u8) -> Header {
	Header { window: 1, miner: [peer; 32], theta_hash: [0; 32], data_digest: [0; 32] }
}

/// `peers` payloads (Rice-coded) of one tensor of geometry `g`, each from its own
/// pseudo-gradient and a fresh error buffer.
pub fn peer_payloads(g: &ChunkGeometry, peers: usize, config: &CompressConfig) -> Vec<Vec<u8>> {
	(0..peers)
		.map(|p| {
			let delta = random(g.len(), 100 + p as u64);
			let mut e = vec![0.0; g.len()];
			let t = compress_tensor(0, &mut e, &delta, g, config, &mut Scratch::default())
				.expect("compresses");
			encode(&header(p as u8), &[t], IndexCoding::Rice)
		})
		.collect()
}

/// Every payload decoded for `shapes`, in peer order.
pub fn decode_all(payloads: &[Vec<u8>], shapes: &[Vec<usize>]) -> Vec<Vec<CompressedTensor>> {
	payloads
		.iter()
		.enumerate()
		.map(|(p, bytes)| {
			let miner = [p as u8; 32];
			let expected = Expected {
				window: 1,
				miner: &miner,
				shapes,
				rules: tessera_codec::Rules { k: 64, quantised: true, max_value: f32::MAX },
			};
			decode(bytes, &expected).expect("decodes").tensors
		})
		.collect()
}
