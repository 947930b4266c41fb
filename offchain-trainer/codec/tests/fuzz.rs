//! Property tests with random and mutated bytes: the decoder returns `Ok` or an error, never
//! panics, and whatever it accepts survives a re-encode and decode unchanged.

mod common;

use common::*;
use proptest::prelude::*;
use tessera_codec::{CompressConfig, Expected, IndexCoding, decode, encode};

fn valid_payload(coding: IndexCoding) -> Vec<u8> {
	encode(&header(5), &compressed(11, CompressConfig::default()), coding)
}

/// Decodes; if accepted, re-encodes and decodes again and checks the two decodings agree.
fn try_decode(bytes: &[u8]) -> Result<bool, TestCaseError> {
	let shapes = shapes();
	let e = Expected {
		window: 5,
		miner: &[7; 32],
		shapes: &shapes,
		rules: tessera_codec::Rules { k: 64, quantised: true, max_value: f32::MAX },
	};
	let Ok(p) = decode(bytes, &e) else { return Ok(false) };
	for coding in [IndexCoding::Packed12, IndexCoding::Rice] {
		let again = decode(&encode(&p.header, &p.tensors, coding), &e);
		prop_assert_eq!(again.as_ref(), Ok(&p));
	}
	Ok(true)
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

	#[test]
	fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
		try_decode(&bytes)?;
	}

	#[test]
	fn mutated_payloads_never_panic(
		flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
		rice in any::<bool>(),
		cut in any::<Option<usize>>(),
	) {
		let mut bytes = valid_payload(if rice { IndexCoding::Rice } else { IndexCoding::Packed12 });
		for (at, x) in flips {
			let i = at % bytes.len();
			bytes[i] ^= x;
		}
		if let Some(c) = cut {
			bytes.truncate(c % (bytes.len() + 1));
		}
		try_decode(&bytes)?;
	}
}
