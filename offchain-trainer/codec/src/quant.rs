//! The 2-bit quantiser (DESIGN.md §4): per tensor, `shift` = mean and `scale` = 1.5σ of the kept
//! values; a value's code is its bin on `z = (v − shift) / scale` with edges at −½, 0, +½; each
//! code's table entry is the mean of the values in its bin (bin centre when a bin is empty), so
//! the decoded values keep the sum of the originals and the table is non-decreasing.

/// Number of quantisation levels (2 bits).
pub const LEVELS: usize = 4;

/// Normalised bin centres, used for empty bins.
const CENTRES: [f64; LEVELS] = [-0.75, -0.25, 0.25, 0.75];

/// A tensor's quantiser: where the bin edges are and what each code decodes to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quantiser {
	/// Mean of the kept values.
	pub shift: f64,
	/// 1.5 × their standard deviation (0 when they are all equal).
	pub scale: f64,
	/// Decoded value of each code.
	pub table: [f32; LEVELS],
}

impl Quantiser {
	/// Fits the quantiser to `values` (all the kept values of one tensor).
	pub fn fit(values: &[f32]) -> Self {
		let n = values.len().max(1) as f64;
		let shift = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
		let var = values.iter().map(|&v| (f64::from(v) - shift).powi(2)).sum::<f64>() / n;
		let q = Self::with_moments(shift, var);
		let mut sums = [0f64; LEVELS];
		let mut counts = [0f64; LEVELS];
		for &v in values {
			let c = q.code(v) as usize;
			sums[c] += f64::from(v);
			counts[c] += 1.0;
		}
		q.with_bins(&sums, &counts)
	}

	/// The quantiser's bin edges from the kept values' mean and (population) variance; the
	/// table is filled in by [`Self::with_bins`]. Shared by the CPU fit and the GPU path, which
	/// reduces the same sums on the device.
	pub fn with_moments(shift: f64, var: f64) -> Self {
		Self { shift, scale: 1.5 * var.sqrt(), table: [0.0; LEVELS] }
	}

	/// The table from each code's sum of values and count: a bin's mean, or its centre when it
	/// is empty; kept non-decreasing.
	pub fn with_bins(mut self, sums: &[f64; LEVELS], counts: &[f64; LEVELS]) -> Self {
		for c in 0..LEVELS {
			self.table[c] = if counts[c] > 0.0 {
				(sums[c] / counts[c]) as f32
			} else {
				(self.shift + self.scale * CENTRES[c]) as f32
			};
		}
		// Rounding to f32 cannot reorder distinct bins' means, but keep the invariant explicit.
		for c in 1..LEVELS {
			if self.table[c] < self.table[c - 1] {
				self.table[c] = self.table[c - 1];
			}
		}
		self
	}

	/// The code of value `v`.
	#[inline]
	pub fn code(&self, v: f32) -> u8 {
		if self.scale <= 0.0 {
			return 2;
		}
		let z = (f64::from(v) - self.shift) / self.scale;
		if z < -0.5 {
			0
		} else if z < 0.0 {
			1
		} else if z < 0.5 {
			2
		} else {
			3
		}
	}
}

/// Whether a decoded table is acceptable: finite and non-decreasing.
pub fn table_is_valid(table: &[f32; LEVELS]) -> Result<(), &'static str> {
	if table.iter().any(|v| !v.is_finite()) {
		return Err("non-finite");
	}
	if table.windows(2).any(|w| w[1] < w[0]) {
		return Err("non-monotone");
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;
	use rand::{Rng, SeedableRng, rngs::SmallRng};

	#[test]
	fn preserves_the_sum_of_values() {
		let mut rng = SmallRng::seed_from_u64(3);
		for _ in 0..50 {
			let n = rng.gen_range(1..5000);
			let vals: Vec<f32> = (0..n).map(|_| rng.r#gen::<f32>() * 4.0 - 2.0).collect();
			let q = Quantiser::fit(&vals);
			let original: f64 = vals.iter().map(|&v| f64::from(v)).sum();
			let decoded: f64 = vals.iter().map(|&v| f64::from(q.table[q.code(v) as usize])).sum();
			// Each bin mean is rounded to f32 once: error ≤ n · ulp(max |v|).
			let bound = n as f64 * 2.0 * f64::from(f32::EPSILON);
			assert!((original - decoded).abs() <= bound, "{original} vs {decoded}");
		}
	}

	#[test]
	fn table_is_non_decreasing_and_codes_are_ordered() {
		let mut rng = SmallRng::seed_from_u64(4);
		let vals: Vec<f32> = (0..1000).map(|_| rng.r#gen::<f32>() - 0.5).collect();
		let q = Quantiser::fit(&vals);
		assert!(table_is_valid(&q.table).is_ok());
		let mut sorted = vals.clone();
		sorted.sort_by(f32::total_cmp);
		let codes: Vec<u8> = sorted.iter().map(|&v| q.code(v)).collect();
		assert!(codes.windows(2).all(|w| w[0] <= w[1]));
	}

	#[test]
	fn constant_values_decode_exactly() {
		let q = Quantiser::fit(&[0.25; 10]);
		assert_eq!(q.table[q.code(0.25) as usize], 0.25);
	}

	#[test]
	fn validity_rejects_nan_and_disorder() {
		assert_eq!(table_is_valid(&[0.0, f32::NAN, 1.0, 2.0]), Err("non-finite"));
		assert_eq!(table_is_valid(&[0.0, f32::INFINITY, 1.0, 2.0]), Err("non-finite"));
		assert_eq!(table_is_valid(&[0.0, 2.0, 1.0, 3.0]), Err("non-monotone"));
	}
}
