//! Payload format v1: round trips, sizes per chunk, and the hash.

mod common;

use common::*;
use tessera_codec::{
	CompressConfig, Expected, IndexCoding, Rules, Values, decode, encode, format::HEADER_LEN,
	hash::payload_hash,
};

fn expected<'a>(shapes: &'a [Vec<usize>], miner: &'a [u8; 32]) -> Expected<'a> {
	Expected {
		window: 5,
		miner,
		shapes,
		rules: Rules { k: 64, quantised: true, max_value: f32::MAX },
	}
}

#[test]
fn round_trip_both_index_codings() {
	let shapes = shapes();
	let tensors = compressed(1, CompressConfig::default());
	for coding in [IndexCoding::Packed12, IndexCoding::Rice] {
		let bytes = encode(&header(5), &tensors, coding);
		let payload = decode(&bytes, &expected(&shapes, &[7; 32])).expect("decodes");
		assert_eq!(payload.header, header(5));
		assert_eq!(payload.tensors, tensors);
	}
}

#[test]
fn round_trip_raw_values() {
	let shapes = shapes();
	let tensors = compressed(2, CompressConfig { quantise: false, ..Default::default() });
	let bytes = encode(&header(5), &tensors, IndexCoding::Rice);
	let raw = Expected {
		rules: Rules { quantised: false, ..expected(&shapes, &[7; 32]).rules },
		..expected(&shapes, &[7; 32])
	};
	let payload = decode(&bytes, &raw).expect("decodes");
	assert_eq!(payload.tensors, tensors);
	assert!(matches!(payload.tensors[0].values, Values::Raw(_)));
}

/// Bytes of one 64 × 64 chunk at k = 64, measured on a 4096 × 64-chunk tensor.
fn bytes_per_chunk(coding: IndexCoding) -> f64 {
	let shapes = [vec![64 * 16, 64 * 16]];
	let g = tessera_codec::ChunkGeometry::for_shape(&shapes[0]).expect("valid");
	let delta = random(g.len(), 9);
	let mut e = vec![0.0; g.len()];
	let t = tessera_codec::compress_tensor(
		0,
		&mut e,
		&delta,
		&g,
		&CompressConfig::default(),
		&mut tessera_codec::Scratch::default(),
	)
	.expect("compresses");
	let bytes = encode(&header(5), &[t], coding);
	(bytes.len() - HEADER_LEN) as f64 / g.num_chunks() as f64
}

#[test]
fn packed_chunks_cost_at_most_112_bytes() {
	let b = bytes_per_chunk(IndexCoding::Packed12);
	assert!(b <= 112.2, "{b} B per chunk");
}

#[test]
fn rice_coded_chunks_cost_at_most_80_bytes() {
	let b = bytes_per_chunk(IndexCoding::Rice);
	assert!(b <= 80.0, "{b} B per chunk");
}

#[test]
fn fixed_vector_layout() {
	// One 1-D tensor of 4 values, k = 2, raw values: every byte is known.
	let g = tessera_codec::ChunkGeometry::for_shape(&[4]).expect("valid");
	let t = tessera_codec::CompressedTensor {
		geometry: g,
		k: 2,
		indices: vec![1, 3],
		values: Values::Raw(vec![0.5, -2.0]),
	};
	let h = tessera_codec::Header {
		window: 0x0102,
		miner: [0xAA; 32],
		theta_hash: [0xBB; 32],
		data_digest: [0xCC; 32],
	};
	let bytes = encode(&h, std::slice::from_ref(&t), IndexCoding::Packed12);
	let mut want = Vec::new();
	want.extend_from_slice(b"TSRG");
	want.extend_from_slice(&[1, 0, 0, 0]); // version 1, flags 0
	want.extend_from_slice(&[0x02, 0x01, 0, 0, 0, 0, 0, 0]); // window
	want.extend_from_slice(&[0xAA; 32]);
	want.extend_from_slice(&[0xBB; 32]);
	want.extend_from_slice(&[0xCC; 32]);
	want.extend_from_slice(&[1, 0, 0, 0]); // one tensor
	want.push(2); // ndim (2-D view)
	want.extend_from_slice(&[1, 0, 0, 0, 4, 0, 0, 0]); // rows 1, cols 4
	want.extend_from_slice(&[1, 0, 4, 0]); // chunk 1 × 4
	want.extend_from_slice(&[2, 0]); // k
	want.extend_from_slice(&[0, 1, 0]); // packed indices, raw values, rice p 0
	want.extend_from_slice(&[2, 0, 0, 0]); // index count
	want.extend_from_slice(&[11, 0, 0, 0]); // body: 3 index bytes + 8 value bytes
	want.extend_from_slice(&[0x01, 0x30, 0x00]); // 12-bit 1 then 12-bit 3
	want.extend_from_slice(&0.5f32.to_le_bytes());
	want.extend_from_slice(&(-2.0f32).to_le_bytes());
	assert_eq!(bytes, want);
	assert_eq!(HEADER_LEN, 116);
	let shapes = vec![vec![4]];
	let decoded = decode(
		&bytes,
		&Expected {
			window: 0x0102,
			miner: &[0xAA; 32],
			shapes: &shapes,
			rules: Rules { k: 2, quantised: false, max_value: 2.0 },
		},
	)
	.expect("decodes");
	assert_eq!(decoded.tensors, vec![t]);
}

#[test]
fn encoding_is_deterministic_and_hash_changes_with_any_byte() {
	let tensors = compressed(3, CompressConfig::default());
	let a = encode(&header(5), &tensors, IndexCoding::Rice);
	let b = encode(&header(5), &tensors, IndexCoding::Rice);
	assert_eq!(a, b);
	let mut c = a.clone();
	let last = c.len() - 1;
	c[last] ^= 1;
	assert_ne!(payload_hash(&a), payload_hash(&c));
}

/// The size cap the network's rules give (`Rules::max_payload_len`): honest payloads of every
/// k, value coding and index coding fit it, and at k = 64 of 4096 it is a small fraction of the
/// model.
#[test]
fn honest_payloads_fit_the_cap_and_the_cap_is_a_small_fraction_of_the_model() {
	let shapes = vec![vec![256, 128], vec![128], vec![7, 3]];
	let header = tessera_codec::Header {
		window: 1,
		miner: [1; 32],
		theta_hash: [0; 32],
		data_digest: [0; 32],
	};
	for (k, quantised) in [(1, true), (64, true), (64, false), (4096, true)] {
		let config = CompressConfig { k, beta: 0.9, quantise: quantised, ..Default::default() };
		for coding in [IndexCoding::Packed12, IndexCoding::Rice] {
			let mut tensors = Vec::new();
			let mut scratch = tessera_codec::Scratch::default();
			for (i, shape) in shapes.iter().enumerate() {
				let len: usize = shape.iter().product();
				let delta: Vec<f32> =
					(0..len).map(|j| ((j * 7919 + i) % 1000) as f32 * 1e-4 - 0.05).collect();
				let mut ef = vec![0.0; len];
				let g = tessera_codec::ChunkGeometry::for_shape(shape).unwrap();
				tensors.push(
					tessera_codec::compress_tensor(i, &mut ef, &delta, &g, &config, &mut scratch)
						.unwrap(),
				);
			}
			let bytes = encode(&header, &tensors, coding);
			let cap = Rules { k, quantised, max_value: 1.0 }.max_payload_len(&shapes);
			assert!(bytes.len() <= cap, "k {k} {coding:?}: {} > {cap}", bytes.len());
		}
	}
	// k = 64 of 4096, quantised: the cap is about 0.03 bytes per parameter.
	let big = vec![vec![4096, 4096]];
	let cap = Rules { k: 64, quantised: true, max_value: 1.0 }.max_payload_len(&big);
	assert!((cap as f64) < 0.03 * (4096.0 * 4096.0), "{cap}");
}
