//! Payload format v1: the bytes a miner uploads, documented byte by byte in
//! `docs/payload-format.md`. The decoder trusts nothing: the total size is checked against the
//! cap the network's rules ([`Rules`]) imply before anything else, every shape, geometry and
//! length against the model's known tensors, `k` and the value coding against the rules, every
//! index against its chunk, every value for finiteness and the rules' largest magnitude — and it
//! allocates only what the model's shapes bound.

use crate::{
	bits::{BitReader, BitWriter},
	compress::{CompressedTensor, Values},
	error::CodecError,
	geometry::ChunkGeometry,
	quant::{LEVELS, table_is_valid},
	rules::Rules,
};

/// First four bytes of every payload.
pub const MAGIC: [u8; 4] = *b"TSRG";
/// The format version this module writes and reads.
pub const VERSION: u16 = 1;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 116;
/// Most dimensions a tensor may have.
pub const MAX_NDIM: usize = 8;

/// How a tensor's kept positions are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexCoding {
	/// 12 bits per position.
	Packed12,
	/// Gaps between ascending positions, Rice-coded with a per-tensor parameter.
	Rice,
}

impl IndexCoding {
	fn code(self) -> u8 {
		match self {
			IndexCoding::Packed12 => 0,
			IndexCoding::Rice => 1,
		}
	}
}

/// The fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
	/// Window the update belongs to.
	pub window: u64,
	/// The miner's account (32 bytes).
	pub miner: [u8; 32],
	/// BLAKE2b-256 of θ_w, the parameters the miner started from.
	pub theta_hash: [u8; 32],
	/// Digest of the miner's data slice.
	pub data_digest: [u8; 32],
}

/// A decoded payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Payload {
	/// The header.
	pub header: Header,
	/// One compressed tensor per model tensor, in model order.
	pub tensors: Vec<CompressedTensor>,
}

/// What the decoder checks the payload against.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
	/// The window the payload must be for.
	pub window: u64,
	/// The miner it must come from.
	pub miner: &'a [u8; 32],
	/// The model's tensor shapes, in order.
	pub shapes: &'a [Vec<usize>],
	/// The network's coding rules (they also give the size cap).
	pub rules: Rules,
}

impl Rules {
	/// Largest payload these rules allow for a model of `shapes` (shapes the codec cannot
	/// chunk count as nothing: the decoder refuses them anyway).
	pub fn max_payload_len(&self, shapes: &[Vec<usize>]) -> usize {
		shapes
			.iter()
			.filter_map(|s| ChunkGeometry::for_shape(s).ok())
			.map(|g| self.max_tensor_len(&g))
			.fold(HEADER_LEN, usize::saturating_add)
	}
}

/// Encodes `header` and `tensors` (in model order) with the given index coding.
pub fn encode(header: &Header, tensors: &[CompressedTensor], coding: IndexCoding) -> Vec<u8> {
	let mut out = Vec::with_capacity(
		HEADER_LEN + tensors.iter().map(|t| t.indices.len() * 2 + 64).sum::<usize>(),
	);
	out.extend_from_slice(&MAGIC);
	out.extend_from_slice(&VERSION.to_le_bytes());
	out.extend_from_slice(&0u16.to_le_bytes());
	out.extend_from_slice(&header.window.to_le_bytes());
	out.extend_from_slice(&header.miner);
	out.extend_from_slice(&header.theta_hash);
	out.extend_from_slice(&header.data_digest);
	out.extend_from_slice(&(tensors.len() as u32).to_le_bytes());
	for t in tensors {
		encode_tensor(&mut out, t, coding);
	}
	out
}

/// The shape recorded for a tensor: its 2-D view.
fn view_dims(g: &ChunkGeometry) -> [usize; 2] {
	[g.rows, g.cols]
}

fn encode_tensor(out: &mut Vec<u8>, t: &CompressedTensor, coding: IndexCoding) {
	let g = &t.geometry;
	let dims = view_dims(g);
	out.push(dims.len() as u8);
	for d in dims {
		out.extend_from_slice(&(d as u32).to_le_bytes());
	}
	out.extend_from_slice(&(g.chunk_rows as u16).to_le_bytes());
	out.extend_from_slice(&(g.chunk_cols as u16).to_le_bytes());
	out.extend_from_slice(&(t.k as u16).to_le_bytes());
	out.push(coding.code());
	let (value_code, table) = match &t.values {
		Values::Quantised { table, .. } => (0u8, Some(table)),
		Values::Raw(_) => (1u8, None),
	};
	out.push(value_code);
	let rice_p = match coding {
		IndexCoding::Packed12 => 0,
		IndexCoding::Rice => best_rice_parameter(t),
	};
	out.push(rice_p as u8);
	if let Some(table) = table {
		for v in table {
			out.extend_from_slice(&v.to_le_bytes());
		}
	}
	out.extend_from_slice(&(t.indices.len() as u32).to_le_bytes());

	let mut body = Vec::new();
	{
		let mut w = BitWriter::new(&mut body);
		match coding {
			IndexCoding::Packed12 => {
				for &i in &t.indices {
					w.write(u32::from(i), 12);
				}
			},
			IndexCoding::Rice => {
				for gap in gaps(t) {
					w.write_rice(gap, rice_p);
				}
			},
		}
		w.finish();
	}
	match &t.values {
		Values::Quantised { codes, .. } => {
			let mut w = BitWriter::new(&mut body);
			for &c in codes {
				w.write(u32::from(c), 2);
			}
			w.finish();
		},
		Values::Raw(values) => {
			for v in values {
				body.extend_from_slice(&v.to_le_bytes());
			}
		},
	}
	out.extend_from_slice(&(body.len() as u32).to_le_bytes());
	out.extend_from_slice(&body);
}

/// The gaps Rice coding writes: per chunk, each ascending position minus the previous minus 1
/// (the first position counts from −1).
fn gaps(t: &CompressedTensor) -> impl Iterator<Item = u32> + '_ {
	t.indices.chunks(t.k).flat_map(|chunk| {
		let mut prev: i32 = -1;
		chunk.iter().map(move |&i| {
			let gap = (i32::from(i) - prev - 1) as u32;
			prev = i32::from(i);
			gap
		})
	})
}

/// The Rice parameter giving the fewest bits for this tensor's gaps.
fn best_rice_parameter(t: &CompressedTensor) -> u32 {
	let n = t.indices.len() as u64;
	(0..12u32)
		.min_by_key(|&p| gaps(t).map(|g| u64::from(g >> p)).sum::<u64>() + n * (1 + u64::from(p)))
		.unwrap_or(0)
}

/// A cursor over the payload that reports truncation as an error.
struct Cursor<'a> {
	bytes: &'a [u8],
	pos: usize,
}

impl<'a> Cursor<'a> {
	fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
		let left = self.bytes.len() - self.pos;
		if n > left {
			return Err(CodecError::Truncated { at: self.pos, needed: n - left });
		}
		let s = &self.bytes[self.pos..self.pos + n];
		self.pos += n;
		Ok(s)
	}
	fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
		let mut a = [0u8; N];
		a.copy_from_slice(self.take(N)?);
		Ok(a)
	}
	fn u8(&mut self) -> Result<u8, CodecError> {
		Ok(self.array::<1>()?[0])
	}
	fn u16(&mut self) -> Result<u16, CodecError> {
		Ok(u16::from_le_bytes(self.array()?))
	}
	fn u32(&mut self) -> Result<u32, CodecError> {
		Ok(u32::from_le_bytes(self.array()?))
	}
	fn u64(&mut self) -> Result<u64, CodecError> {
		Ok(u64::from_le_bytes(self.array()?))
	}
	fn f32(&mut self) -> Result<f32, CodecError> {
		Ok(f32::from_le_bytes(self.array()?))
	}
}

/// Decodes and validates a payload. Checks, in order: size cap, magic, version, flags, window,
/// miner, tensor count, then per tensor its shape, geometry, k, codings, table, index count,
/// body length, indices and values, and finally that nothing trails the last tensor.
pub fn decode(bytes: &[u8], expected: &Expected<'_>) -> Result<Payload, CodecError> {
	let cap = expected.rules.max_payload_len(expected.shapes);
	if bytes.len() > cap {
		return Err(CodecError::Oversized { len: bytes.len(), cap });
	}
	let mut c = Cursor { bytes, pos: 0 };
	let magic = c.array::<4>()?;
	if magic != MAGIC {
		return Err(CodecError::BadMagic(magic));
	}
	let version = c.u16()?;
	if version != VERSION {
		return Err(CodecError::UnsupportedVersion(version));
	}
	let flags = c.u16()?;
	if flags != 0 {
		return Err(CodecError::ReservedFlags(flags));
	}
	let window = c.u64()?;
	if window != expected.window {
		return Err(CodecError::WrongWindow { expected: expected.window, got: window });
	}
	let miner = c.array::<32>()?;
	if &miner != expected.miner {
		return Err(CodecError::WrongAccount);
	}
	let theta_hash = c.array::<32>()?;
	let data_digest = c.array::<32>()?;
	let count = c.u32()?;
	if count as usize != expected.shapes.len() {
		return Err(CodecError::WrongTensorCount { expected: expected.shapes.len(), got: count });
	}
	let mut tensors = Vec::with_capacity(expected.shapes.len());
	for (tensor, shape) in expected.shapes.iter().enumerate() {
		tensors.push(decode_tensor(&mut c, tensor, shape, &expected.rules)?);
	}
	let trailing = bytes.len() - c.pos;
	if trailing != 0 {
		return Err(CodecError::TrailingBytes(trailing));
	}
	Ok(Payload { header: Header { window, miner, theta_hash, data_digest }, tensors })
}

fn decode_tensor(
	c: &mut Cursor<'_>,
	tensor: usize,
	shape: &[usize],
	rules: &Rules,
) -> Result<CompressedTensor, CodecError> {
	let geometry = ChunkGeometry::for_shape(shape)?;
	let ndim = c.u8()? as usize;
	if ndim == 0 || ndim > MAX_NDIM {
		return Err(CodecError::WrongShape { tensor });
	}
	let mut dims = [0usize; MAX_NDIM];
	for d in dims.iter_mut().take(ndim) {
		*d = c.u32()? as usize;
	}
	if dims[..ndim] != view_dims(&geometry) {
		return Err(CodecError::WrongShape { tensor });
	}
	let (chunk_rows, chunk_cols) = (c.u16()? as usize, c.u16()? as usize);
	if (chunk_rows, chunk_cols) != (geometry.chunk_rows, geometry.chunk_cols) {
		return Err(CodecError::WrongGeometry { tensor });
	}
	let k = c.u16()?;
	let chunk_len = geometry.chunk_len();
	if k == 0 || usize::from(k) > chunk_len {
		return Err(CodecError::BadK { tensor, k, chunk_len });
	}
	let k = usize::from(k);
	if k != rules.k_for(&geometry) {
		return Err(CodecError::WrongK { tensor, expected: rules.k_for(&geometry), got: k });
	}
	let index_coding = match c.u8()? {
		0 => IndexCoding::Packed12,
		1 => IndexCoding::Rice,
		code => return Err(CodecError::UnknownCoding { tensor, what: "index", code }),
	};
	let quantised = match c.u8()? {
		0 => true,
		1 => false,
		code => return Err(CodecError::UnknownCoding { tensor, what: "value", code }),
	};
	if quantised != rules.quantised {
		return Err(CodecError::WrongValueCoding { tensor, quantised: rules.quantised });
	}
	let rice_p = u32::from(c.u8()?);
	if index_coding == IndexCoding::Packed12 && rice_p != 0 || rice_p > 12 {
		return Err(CodecError::UnknownCoding { tensor, what: "index", code: rice_p as u8 });
	}
	let table = if quantised {
		let mut t = [0f32; LEVELS];
		for v in t.iter_mut() {
			*v = c.f32()?;
		}
		match table_is_valid(&t) {
			Ok(()) if t.iter().any(|v| v.abs() > rules.max_value) => {
				return Err(CodecError::ValueTooLarge { tensor });
			},
			Ok(()) => Some(t),
			Err("non-finite") => return Err(CodecError::NonFiniteValue { tensor }),
			Err(_) => return Err(CodecError::NonMonotoneTable { tensor }),
		}
	} else {
		None
	};
	let n = geometry.num_chunks() * k; // ≤ the tensor's length: bounded by the model.
	let declared = c.u32()?;
	if u64::from(declared) != n as u64 {
		return Err(CodecError::IndexCount { tensor, expected: n as u64, got: declared });
	}
	let body_len = c.u32()? as usize;
	let value_bytes = if quantised { (n * 2).div_ceil(8) } else { n * 4 };
	let expected_len = match index_coding {
		IndexCoding::Packed12 => Some((n * 12).div_ceil(8) + value_bytes),
		IndexCoding::Rice => None,
	};
	if let Some(expected) = expected_len {
		if body_len != expected {
			return Err(CodecError::BodyLength { tensor, expected, got: body_len });
		}
	} else if body_len < value_bytes {
		return Err(CodecError::BodyLength { tensor, expected: value_bytes, got: body_len });
	} else if body_len - value_bytes > rules.rice_index_bits(&geometry).div_ceil(8) {
		let expected = rules.rice_index_bits(&geometry).div_ceil(8) + value_bytes;
		return Err(CodecError::BodyLength { tensor, expected, got: body_len });
	}
	let body = c.take(body_len)?;
	let (index_bytes, value_section) = body.split_at(body_len - value_bytes);

	let mut indices = vec![0u16; n];
	let mut r = BitReader::new(index_bytes);
	let truncated = |_| CodecError::BodyLength { tensor, expected: body_len + 1, got: body_len };
	for (chunk, out) in indices.chunks_mut(k).enumerate() {
		match index_coding {
			IndexCoding::Packed12 => {
				let mut prev: Option<u16> = None;
				for slot in out.iter_mut() {
					let i = r.read(12).map_err(truncated)?;
					if i as usize >= chunk_len {
						return Err(CodecError::IndexOutOfRange { tensor, chunk, index: i });
					}
					let i = i as u16;
					match prev {
						Some(p) if p == i => {
							return Err(CodecError::DuplicateIndex { tensor, chunk, index: i });
						},
						Some(p) if p > i => {
							return Err(CodecError::UnsortedIndices { tensor, chunk });
						},
						_ => {},
					}
					prev = Some(i);
					*slot = i;
				}
			},
			IndexCoding::Rice => {
				let mut prev: i64 = -1;
				let max_q = (chunk_len >> rice_p) as u32;
				for slot in out.iter_mut() {
					let gap = r.read_rice(rice_p, max_q).map_err(truncated)?;
					let i = gap.map(|g| prev + 1 + i64::from(g)).unwrap_or(i64::MAX);
					if i >= chunk_len as i64 {
						let index = u32::try_from(i).unwrap_or(u32::MAX);
						return Err(CodecError::IndexOutOfRange { tensor, chunk, index });
					}
					prev = i;
					*slot = i as u16;
				}
			},
		}
	}
	if !r.at_padded_end() {
		return match index_coding {
			IndexCoding::Packed12 => Err(CodecError::NonZeroPadding { tensor }),
			IndexCoding::Rice => {
				Err(CodecError::BodyLength { tensor, expected: body_len - 1, got: body_len })
			},
		};
	}

	let values = match table {
		Some(table) => {
			let mut r = BitReader::new(value_section);
			let mut codes = vec![0u8; n];
			for code in codes.iter_mut() {
				*code = r.read(2).map_err(truncated)? as u8;
			}
			if !r.at_padded_end() {
				return Err(CodecError::NonZeroPadding { tensor });
			}
			Values::Quantised { codes, table }
		},
		None => {
			let mut values = Vec::with_capacity(n);
			for b in value_section.chunks_exact(4) {
				let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
				if !v.is_finite() {
					return Err(CodecError::NonFiniteValue { tensor });
				}
				if v.abs() > rules.max_value {
					return Err(CodecError::ValueTooLarge { tensor });
				}
				values.push(v);
			}
			Values::Raw(values)
		},
	};
	Ok(CompressedTensor { geometry, k, indices, values })
}
