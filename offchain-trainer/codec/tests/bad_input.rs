//! Every malformed payload maps to its own `CodecError`, never a panic. The base payload is one
//! 8 × 8 tensor (one 64-value chunk), k = 4, 2-bit values, packed indices; each test patches one
//! field at its documented offset (docs/payload-format.md).

use tessera_codec::{
	ChunkGeometry, CodecError, CompressedTensor, Expected, Header, IndexCoding, Rules, Values,
	decode, encode,
};

/// The network's rules the base payload obeys.
const RULES: Rules = Rules { k: 4, quantised: true, max_value: 2.0 };

const SHAPE: [usize; 2] = [8, 8];
// Offsets inside the base payload.
const VERSION: usize = 4;
const FLAGS: usize = 6;
const CHUNK_ROWS: usize = 125;
const K: usize = 129;
const INDEX_CODING: usize = 131;
const VALUE_CODING: usize = 132;
const TABLE: usize = 134;
const INDEX_COUNT: usize = 150;
const BODY_LEN: usize = 154;
const BODY: usize = 158;

fn header() -> Header {
	Header { window: 9, miner: [3; 32], theta_hash: [4; 32], data_digest: [5; 32] }
}

fn tensor(k: usize, indices: Vec<u16>) -> CompressedTensor {
	CompressedTensor {
		geometry: ChunkGeometry::for_shape(&SHAPE).expect("valid"),
		k,
		indices,
		values: Values::Quantised {
			codes: vec![0, 1, 2, 3][..k].to_vec(),
			table: [-1.0, -0.5, 0.5, 1.0],
		},
	}
}

fn base() -> Vec<u8> {
	encode(&header(), &[tensor(4, vec![1, 5, 9, 63])], IndexCoding::Packed12)
}

fn shapes() -> Vec<Vec<usize>> {
	vec![SHAPE.to_vec()]
}

fn check(bytes: &[u8]) -> Result<(), CodecError> {
	check_with(bytes, RULES)
}

fn check_with(bytes: &[u8], rules: Rules) -> Result<(), CodecError> {
	let shapes = shapes();
	decode(bytes, &Expected { window: 9, miner: &[3; 32], shapes: &shapes, rules }).map(|_| ())
}

/// Packs four 12-bit indices into the 6 index bytes of the body.
fn with_indices(mut bytes: Vec<u8>, idx: [u32; 4]) -> Vec<u8> {
	let packed: u64 = idx.iter().enumerate().map(|(i, &v)| u64::from(v) << (12 * i)).sum();
	bytes[BODY..BODY + 6].copy_from_slice(&packed.to_le_bytes()[..6]);
	bytes
}

#[test]
fn base_payload_is_valid() {
	assert_eq!(check(&base()), Ok(()));
}

#[test]
fn truncated() {
	let b = base();
	assert!(matches!(check(&b[..b.len() - 1]), Err(CodecError::Truncated { .. })));
	assert!(matches!(check(&b[..50]), Err(CodecError::Truncated { .. })));
	assert!(matches!(check(&[]), Err(CodecError::Truncated { at: 0, .. })));
}

#[test]
fn oversized() {
	// The cap is what the network's k and value coding allow the model's tensors at most.
	let shapes = shapes();
	let cap = RULES.max_payload_len(&shapes);
	assert!(base().len() <= cap);
	let mut b = base();
	b.resize(cap + 1, 0);
	let e = Expected { window: 9, miner: &[3; 32], shapes: &shapes, rules: RULES };
	assert_eq!(decode(&b, &e).map(|_| ()), Err(CodecError::Oversized { len: cap + 1, cap }));
}

#[test]
fn wrong_magic() {
	let mut b = base();
	b[0] = b'X';
	assert_eq!(check(&b), Err(CodecError::BadMagic(*b"XSRG")));
}

#[test]
fn wrong_version() {
	let mut b = base();
	b[VERSION] = 2;
	assert_eq!(check(&b), Err(CodecError::UnsupportedVersion(2)));
}

#[test]
fn reserved_flags() {
	let mut b = base();
	b[FLAGS] = 1;
	assert_eq!(check(&b), Err(CodecError::ReservedFlags(1)));
}

#[test]
fn header_for_another_window() {
	let shapes = shapes();
	let e = Expected { window: 10, miner: &[3; 32], shapes: &shapes, rules: RULES };
	assert_eq!(
		decode(&base(), &e).map(|_| ()),
		Err(CodecError::WrongWindow { expected: 10, got: 9 })
	);
}

#[test]
fn header_for_another_account() {
	let shapes = shapes();
	let e = Expected { window: 9, miner: &[4; 32], shapes: &shapes, rules: RULES };
	assert_eq!(decode(&base(), &e).map(|_| ()), Err(CodecError::WrongAccount));
}

#[test]
fn wrong_tensor_count() {
	let shapes = vec![SHAPE.to_vec(), vec![4]];
	let e = Expected { window: 9, miner: &[3; 32], shapes: &shapes, rules: RULES };
	assert_eq!(
		decode(&base(), &e).map(|_| ()),
		Err(CodecError::WrongTensorCount { expected: 2, got: 1 })
	);
}

#[test]
fn wrong_shape() {
	let shapes = vec![vec![4, 16]];
	let e = Expected { window: 9, miner: &[3; 32], shapes: &shapes, rules: RULES };
	assert_eq!(decode(&base(), &e).map(|_| ()), Err(CodecError::WrongShape { tensor: 0 }));
}

#[test]
fn wrong_geometry() {
	let mut b = base();
	b[CHUNK_ROWS] = 4;
	assert_eq!(check(&b), Err(CodecError::WrongGeometry { tensor: 0 }));
}

#[test]
fn k_zero_or_beyond_the_chunk() {
	let mut b = base();
	b[K] = 0;
	assert_eq!(check(&b), Err(CodecError::BadK { tensor: 0, k: 0, chunk_len: 64 }));
	b[K] = 65;
	assert_eq!(check(&b), Err(CodecError::BadK { tensor: 0, k: 65, chunk_len: 64 }));
}

#[test]
fn unknown_codings() {
	let mut b = base();
	b[INDEX_CODING] = 7;
	assert_eq!(check(&b), Err(CodecError::UnknownCoding { tensor: 0, what: "index", code: 7 }));
	let mut b = base();
	b[VALUE_CODING] = 9;
	assert_eq!(check(&b), Err(CodecError::UnknownCoding { tensor: 0, what: "value", code: 9 }));
}

#[test]
fn odd_index_count() {
	let mut b = base();
	b[INDEX_COUNT] = 3;
	assert_eq!(check(&b), Err(CodecError::IndexCount { tensor: 0, expected: 4, got: 3 }));
}

#[test]
fn body_length_mismatch_allocates_nothing() {
	let mut b = base();
	b[BODY_LEN..BODY_LEN + 4].copy_from_slice(&u32::MAX.to_le_bytes());
	assert_eq!(
		check(&b),
		Err(CodecError::BodyLength { tensor: 0, expected: 7, got: u32::MAX as usize })
	);
}

#[test]
fn index_out_of_range() {
	let b = with_indices(base(), [1, 5, 9, 64]);
	assert_eq!(check(&b), Err(CodecError::IndexOutOfRange { tensor: 0, chunk: 0, index: 64 }));
	let b = with_indices(base(), [1, 5, 9, 4095]);
	assert_eq!(check(&b), Err(CodecError::IndexOutOfRange { tensor: 0, chunk: 0, index: 4095 }));
}

#[test]
fn duplicate_index() {
	let b = with_indices(base(), [1, 5, 5, 9]);
	assert_eq!(check(&b), Err(CodecError::DuplicateIndex { tensor: 0, chunk: 0, index: 5 }));
}

#[test]
fn unsorted_indices() {
	let b = with_indices(base(), [5, 1, 9, 10]);
	assert_eq!(check(&b), Err(CodecError::UnsortedIndices { tensor: 0, chunk: 0 }));
}

#[test]
fn nan_or_inf_in_the_table() {
	for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
		let mut b = base();
		b[TABLE + 4..TABLE + 8].copy_from_slice(&bad.to_le_bytes());
		assert_eq!(check(&b), Err(CodecError::NonFiniteValue { tensor: 0 }));
	}
}

#[test]
fn nan_in_raw_values() {
	let t = CompressedTensor {
		geometry: ChunkGeometry::for_shape(&SHAPE).expect("valid"),
		k: 2,
		indices: vec![0, 1],
		values: Values::Raw(vec![1.0, f32::NAN]),
	};
	let b = encode(&header(), &[t], IndexCoding::Packed12);
	let raw = Rules { k: 2, quantised: false, ..RULES };
	assert_eq!(check_with(&b, raw), Err(CodecError::NonFiniteValue { tensor: 0 }));
}

#[test]
fn non_monotone_table() {
	let mut b = base();
	b[TABLE + 4..TABLE + 8].copy_from_slice(&2.0f32.to_le_bytes());
	assert_eq!(check(&b), Err(CodecError::NonMonotoneTable { tensor: 0 }));
}

#[test]
fn non_zero_padding() {
	// k = 3: 36 index bits leave 4 padding bits in the 5th byte.
	let mut b = encode(&header(), &[tensor(3, vec![1, 2, 3])], IndexCoding::Packed12);
	b[BODY + 4] |= 0x80;
	let k3 = Rules { k: 3, ..RULES };
	assert_eq!(check_with(&b, k3), Err(CodecError::NonZeroPadding { tensor: 0 }));
}

#[test]
fn trailing_bytes() {
	// Rice-coded positions leave room below the cap (packed ones fill it exactly).
	let mut b = encode(&header(), &[tensor(4, vec![1, 5, 9, 63])], IndexCoding::Rice);
	b.push(0);
	assert_eq!(check(&b), Err(CodecError::TrailingBytes(1)));
}

#[test]
fn rice_stream_overrunning_the_chunk() {
	// Rice gaps that walk past the end of the chunk.
	let good = encode(&header(), &[tensor(4, vec![1, 5, 9, 63])], IndexCoding::Rice);
	assert_eq!(check(&good), Ok(()));
	let mut b = good.clone();
	// Turn the whole index stream into ones: an unbounded unary quotient.
	let body_len =
		u32::from_le_bytes([b[BODY_LEN], b[BODY_LEN + 1], b[BODY_LEN + 2], b[BODY_LEN + 3]])
			as usize;
	for byte in &mut b[BODY..BODY + body_len - 1] {
		*byte = 0xFF;
	}
	assert!(matches!(
		check(&b),
		Err(CodecError::IndexOutOfRange { .. }) | Err(CodecError::BodyLength { .. })
	));
}

/// Issue 17 item 4: the network's k, value coding and largest value are the decoder's, not the
/// payload's to choose.
#[test]
fn another_k_value_coding_or_a_value_beyond_the_networks() {
	let shapes = shapes();
	let with = |rules: Rules| Expected { window: 9, miner: &[3; 32], shapes: &shapes, rules };
	assert_eq!(
		decode(&base(), &with(Rules { k: 8, ..RULES })).map(|_| ()),
		Err(CodecError::WrongK { tensor: 0, expected: 8, got: 4 })
	);
	// Rice-coded, so that it fits the (smaller) cap of a raw-valued run.
	let rice = encode(&header(), &[tensor(4, vec![1, 5, 9, 63])], IndexCoding::Rice);
	assert_eq!(
		decode(&rice, &with(Rules { quantised: false, ..RULES })).map(|_| ()),
		Err(CodecError::WrongValueCoding { tensor: 0, quantised: false })
	);
	assert_eq!(
		decode(&base(), &with(Rules { max_value: 0.75, ..RULES })).map(|_| ()),
		Err(CodecError::ValueTooLarge { tensor: 0 })
	);
	let raw = CompressedTensor {
		values: Values::Raw(vec![0.1, -0.2, 3.0, 0.0]),
		..tensor(4, vec![1, 5, 9, 63])
	};
	let b = encode(&header(), &[raw], IndexCoding::Packed12);
	assert_eq!(
		decode(&b, &with(Rules { quantised: false, ..RULES })).map(|_| ()),
		Err(CodecError::ValueTooLarge { tensor: 0 })
	);
}

/// Issue 17 item 5: Rice-coded positions longer than any Rice parameter needs are refused,
/// which is what keeps the size cap near the honest size.
#[test]
fn rice_positions_longer_than_needed() {
	let shapes = shapes();
	let g = ChunkGeometry::for_shape(&SHAPE).expect("valid");
	let budget = RULES.rice_index_bits(&g).div_ceil(8);
	let b = encode(&header(), &[tensor(4, vec![1, 5, 9, 63])], IndexCoding::Rice);
	let e = Expected { window: 9, miner: &[3; 32], shapes: &shapes, rules: RULES };
	assert!(decode(&b, &e).is_ok());
	// The same tensor with the body padded past the budget (the body length says so).
	let body_len_at = BODY_LEN;
	let declared = u32::from_le_bytes(b[body_len_at..body_len_at + 4].try_into().unwrap());
	let value_bytes = 1; // four 2-bit codes
	let long = budget + value_bytes + 1;
	assert!(long > declared as usize);
	let mut padded = b[..BODY].to_vec();
	padded[body_len_at..body_len_at + 4].copy_from_slice(&(long as u32).to_le_bytes());
	padded.extend(std::iter::repeat_n(0u8, long));
	assert_eq!(
		decode(&padded, &e).map(|_| ()),
		Err(CodecError::BodyLength { tensor: 0, expected: budget + value_bytes, got: long })
	);
}
