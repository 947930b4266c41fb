//! BLAKE2b-256, the payload hash committed on chain, and the θ hash that proves two peers hold
//! the same parameters.

use blake2::{Blake2b, Digest, digest::consts::U32};

/// BLAKE2b with a 256-bit output.
pub type Blake2b256 = Blake2b<U32>;

/// BLAKE2b-256 of `bytes`: the on-chain commitment of a payload.
pub fn payload_hash(bytes: &[u8]) -> [u8; 32] {
	Blake2b256::digest(bytes).into()
}

/// BLAKE2b-256 of the parameters: each tensor's f32 values, little-endian, in model order,
/// preceded by its length as u64 so that tensor boundaries count.
pub fn theta_hash(theta: &[Vec<f32>]) -> [u8; 32] {
	let mut h = Blake2b256::new();
	for t in theta {
		h.update((t.len() as u64).to_le_bytes());
		for v in t {
			h.update(v.to_le_bytes());
		}
	}
	h.finalize().into()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn known_vector() {
		// BLAKE2b-256 of the empty string.
		assert_eq!(
			payload_hash(b"").iter().map(|b| format!("{b:02x}")).collect::<String>(),
			"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
		);
	}

	#[test]
	fn theta_hash_sees_boundaries_and_bits() {
		let a = vec![vec![1.0, 2.0], vec![3.0]];
		let b = vec![vec![1.0], vec![2.0, 3.0]];
		assert_ne!(theta_hash(&a), theta_hash(&b));
		let c = vec![vec![1.0, 2.0], vec![-0.0]];
		let d = vec![vec![1.0, 2.0], vec![0.0]];
		assert_ne!(theta_hash(&c), theta_hash(&d));
	}
}
