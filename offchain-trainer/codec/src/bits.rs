//! Little-endian bit packing: fixed-width fields (12-bit indices, 2-bit codes) and Rice codes,
//! least significant bit first within each byte.

/// Appends bit fields to a byte vector.
pub struct BitWriter<'a> {
	out: &'a mut Vec<u8>,
	acc: u64,
	nbits: u32,
}

impl<'a> BitWriter<'a> {
	/// A writer appending to `out`.
	pub fn new(out: &'a mut Vec<u8>) -> Self {
		Self { out, acc: 0, nbits: 0 }
	}

	/// Writes the low `width` (≤ 32) bits of `value`.
	#[inline]
	pub fn write(&mut self, value: u32, width: u32) {
		debug_assert!(width <= 32);
		let masked = u64::from(value) & ((1u64 << width) - 1);
		self.acc |= masked << self.nbits;
		self.nbits += width;
		while self.nbits >= 8 {
			self.out.push(self.acc as u8);
			self.acc >>= 8;
			self.nbits -= 8;
		}
	}

	/// Writes `value` Rice-coded with parameter `p`: `value >> p` ones, a zero, then the low
	/// `p` bits.
	#[inline]
	pub fn write_rice(&mut self, value: u32, p: u32) {
		let mut q = value >> p;
		while q >= 32 {
			self.write(u32::MAX, 32);
			q -= 32;
		}
		self.write((1u32 << q) - 1, q + 1); // q ones then a zero (bit q is 0)
		self.write(value, p);
	}

	/// Pads with zero bits to a byte boundary.
	pub fn finish(mut self) {
		if self.nbits > 0 {
			self.out.push(self.acc as u8);
			self.acc = 0;
			self.nbits = 0;
		}
	}
}

/// Reads bit fields from a byte slice; reading past its end is an error, never a panic.
pub struct BitReader<'a> {
	bytes: &'a [u8],
	pos: usize,
	acc: u64,
	nbits: u32,
}

/// The reader ran out of bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfBits;

impl<'a> BitReader<'a> {
	/// A reader over `bytes`.
	pub fn new(bytes: &'a [u8]) -> Self {
		Self { bytes, pos: 0, acc: 0, nbits: 0 }
	}

	#[inline]
	fn refill(&mut self) {
		while self.nbits <= 56 && self.pos < self.bytes.len() {
			self.acc |= u64::from(self.bytes[self.pos]) << self.nbits;
			self.pos += 1;
			self.nbits += 8;
		}
	}

	/// Reads `width` (≤ 32) bits.
	#[inline]
	pub fn read(&mut self, width: u32) -> Result<u32, OutOfBits> {
		debug_assert!(width <= 32);
		if self.nbits < width {
			self.refill();
			if self.nbits < width {
				return Err(OutOfBits);
			}
		}
		let v = (self.acc & ((1u64 << width) - 1)) as u32;
		self.acc >>= width;
		self.nbits -= width;
		Ok(v)
	}

	/// Reads a Rice-coded value with parameter `p`, whose quotient may not exceed `max_q`.
	/// `Ok(None)` means the quotient exceeded `max_q` (a value out of range).
	#[inline]
	pub fn read_rice(&mut self, p: u32, max_q: u32) -> Result<Option<u32>, OutOfBits> {
		let mut q = 0u32;
		loop {
			if self.nbits == 0 {
				self.refill();
				if self.nbits == 0 {
					return Err(OutOfBits);
				}
			}
			let ones = (!self.acc).trailing_zeros().min(self.nbits);
			q += ones;
			self.acc = self.acc.checked_shr(ones).unwrap_or(0);
			self.nbits -= ones;
			if q > max_q {
				return Ok(None);
			}
			if self.nbits > 0 {
				// The terminating zero.
				self.acc >>= 1;
				self.nbits -= 1;
				break;
			}
		}
		let low = self.read(p)?;
		Ok(Some((q << p) | low))
	}

	/// Whether every remaining bit is zero and at most 7 remain (the end of a padded section).
	pub fn at_padded_end(&mut self) -> bool {
		self.refill();
		self.pos == self.bytes.len() && self.nbits < 8 && self.acc == 0
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn fixed_width_round_trip_with_a_fixed_vector() {
		let mut out = Vec::new();
		let mut w = BitWriter::new(&mut out);
		for v in [0xABCu32, 0x123, 0xFFF, 0x000] {
			w.write(v, 12);
		}
		w.write(0b10, 2);
		w.finish();
		// 0xABC, 0x123 → bytes BC 3A 12; 0xFFF, 0x000 → FF 0F 00; then 0b10 → 02.
		assert_eq!(out, vec![0xBC, 0x3A, 0x12, 0xFF, 0x0F, 0x00, 0x02]);
		let mut r = BitReader::new(&out);
		assert_eq!(r.read(12), Ok(0xABC));
		assert_eq!(r.read(12), Ok(0x123));
		assert_eq!(r.read(12), Ok(0xFFF));
		assert_eq!(r.read(12), Ok(0x000));
		assert_eq!(r.read(2), Ok(0b10));
		assert!(r.at_padded_end());
		assert_eq!(r.read(8), Err(OutOfBits));
	}

	#[test]
	fn rice_round_trip() {
		let values = [0u32, 1, 5, 63, 64, 65, 200, 4095, 70, 0];
		for p in 0..8 {
			let mut out = Vec::new();
			let mut w = BitWriter::new(&mut out);
			for &v in &values {
				w.write_rice(v, p);
			}
			w.finish();
			let mut r = BitReader::new(&out);
			for &v in &values {
				assert_eq!(r.read_rice(p, 4096), Ok(Some(v)), "p = {p}");
			}
			assert!(r.at_padded_end());
		}
	}

	#[test]
	fn rice_quotient_bound_and_truncation() {
		let mut out = Vec::new();
		let mut w = BitWriter::new(&mut out);
		w.write_rice(1000, 0);
		w.finish();
		assert_eq!(BitReader::new(&out).read_rice(0, 100), Ok(None));
		assert_eq!(BitReader::new(&[0xFF, 0xFF]).read_rice(0, 4096), Err(OutOfBits));
	}
}
