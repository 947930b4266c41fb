//! Top-k by magnitude inside one chunk, deterministic: the k largest `|v|`, ties broken by the
//! lower position, returned in ascending position order.
//!
//! A radix select on the IEEE-754 bits of `|v|` (monotone for non-negative floats): one pass
//! builds a histogram of the top 11 bits (exponent and 3 mantissa bits), which fixes the bucket
//! of the k-th largest value; a second pass takes every value above that bucket and collects the
//! candidates inside it, of which the needed number is chosen by `(magnitude desc, position
//! asc)`. Two linear passes over at most 4096 values instead of a sort; the 3 mantissa bits keep
//! the boundary bucket to a few percent of the chunk for typical (Gaussian-like) updates.

/// Reusable buffers for [`select_top_k`].
#[derive(Default)]
pub struct TopKScratch {
	above: Vec<u16>,
	candidates: Vec<(u32, u16)>,
}

/// The histogram looks at the key's top 11 bits (of 31).
const SHIFT: u32 = 20;
const BUCKETS: usize = 1 << (31 - SHIFT);

/// Magnitude key of a finite float: its bits without the sign.
#[inline(always)]
fn key(v: f32) -> u32 {
	v.to_bits() & 0x7fff_ffff
}

/// Counts of a chunk's magnitudes per bucket. Two
/// interleaved tables: consecutive values often share a bucket, and alternating between tables
/// keeps the increments from waiting on each other.
pub struct Histogram {
	tables: Box<[[u16; BUCKETS]; 2]>,
}

impl Default for Histogram {
	fn default() -> Self {
		Self { tables: Box::new([[0; BUCKETS]; 2]) }
	}
}

impl Histogram {
	/// Empties the histogram for the next chunk.
	#[inline]
	pub fn clear(&mut self) {
		for t in self.tables.iter_mut() {
			t.fill(0);
		}
	}

	/// Counts every value of `vals` (replacing what was counted before).
	pub fn fill(&mut self, vals: &[f32]) {
		self.clear();
		let [t0, t1] = &mut *self.tables;
		let mut pairs = vals.chunks_exact(2);
		for pair in &mut pairs {
			t0[(key(pair[0]) >> SHIFT) as usize] += 1;
			t1[(key(pair[1]) >> SHIFT) as usize] += 1;
		}
		for &v in pairs.remainder() {
			t0[(key(v) >> SHIFT) as usize] += 1;
		}
	}
}

/// Writes into `out` (length `k`, `1 ≤ k ≤ vals.len() ≤ 4096`) the positions of the `k`
/// largest-magnitude values of `vals`, ascending. Values must be finite.
pub fn select_top_k(vals: &[f32], out: &mut [u16], scratch: &mut TopKScratch) {
	let mut hist = Histogram::default();
	hist.fill(vals);
	select_top_k_counted(vals, &hist, out, scratch);
}

/// [`select_top_k`] with the histogram of `vals` already counted.
pub fn select_top_k_counted(
	vals: &[f32],
	hist: &Histogram,
	out: &mut [u16],
	scratch: &mut TopKScratch,
) {
	let n = vals.len();
	let k = out.len();
	debug_assert!(k >= 1 && k <= n && n <= crate::geometry::MAX_CHUNK_LEN);
	if k == n {
		for (i, o) in out.iter_mut().enumerate() {
			*o = i as u16;
		}
		return;
	}

	// Bucket holding the k-th largest magnitude, scanning down from the top.
	let mut above = 0usize;
	let mut bucket = 0u32;
	for b in (0..BUCKETS).rev() {
		let count = hist.tables[0][b] as usize + hist.tables[1][b] as usize;
		if above + count >= k {
			bucket = b as u32;
			break;
		}
		above += count;
	}

	// Visit only the values at or above the bucket: a 32-value group's comparisons fold into a
	// bitmask (vectorised), and the few set bits are walked.
	let need = k - above;
	let lo = bucket << SHIFT;
	let hi = (bucket + 1) << SHIFT;
	let TopKScratch { above: above_buf, candidates } = scratch;
	above_buf.clear();
	candidates.clear();
	let mut visit = |i: usize| {
		let kv = key(vals[i]);
		if kv >= hi {
			above_buf.push(i as u16);
		} else {
			candidates.push((kv, i as u16));
		}
	};
	let mut groups = vals.chunks_exact(32);
	for (g, group) in (&mut groups).enumerate() {
		let mut mask = 0u32;
		for (j, &v) in group.iter().enumerate() {
			mask |= u32::from(key(v) >= lo) << j;
		}
		while mask != 0 {
			visit(g * 32 + mask.trailing_zeros() as usize);
			mask &= mask - 1;
		}
	}
	let base = n - groups.remainder().len();
	for (j, &v) in groups.remainder().iter().enumerate() {
		if key(v) >= lo {
			visit(base + j);
		}
	}
	let filled = above_buf.len();
	out[..filled].copy_from_slice(above_buf);
	debug_assert_eq!(filled, above);
	if candidates.len() > need {
		// Total order: larger magnitude first, then lower position.
		candidates.select_nth_unstable_by(need - 1, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
	}
	for (slot, &(_, i)) in out[filled..].iter_mut().zip(candidates.iter().take(need)) {
		*slot = i;
	}
	out.sort_unstable();
}

#[cfg(test)]
mod tests {
	use super::*;
	use rand::{Rng, SeedableRng, rngs::SmallRng};

	fn reference(vals: &[f32], k: usize) -> Vec<u16> {
		let mut idx: Vec<u16> = (0..vals.len() as u16).collect();
		idx.sort_by(|&a, &b| key(vals[b as usize]).cmp(&key(vals[a as usize])).then(a.cmp(&b)));
		let mut top = idx[..k].to_vec();
		top.sort_unstable();
		top
	}

	#[test]
	fn matches_a_full_sort_on_random_chunks() {
		let mut rng = SmallRng::seed_from_u64(7);
		let mut scratch = TopKScratch::default();
		for &(n, k) in &[(4096, 64), (4096, 1), (64, 64), (100, 7), (4096, 4095), (48, 3)] {
			for _ in 0..20 {
				let vals: Vec<f32> = (0..n).map(|_| rng.r#gen::<f32>() * 2.0 - 1.0).collect();
				let mut out = vec![0u16; k];
				select_top_k(&vals, &mut out, &mut scratch);
				assert_eq!(out, reference(&vals, k));
			}
		}
	}

	#[test]
	fn ties_go_to_lower_positions() {
		let vals = vec![1.0f32; 100];
		let mut out = vec![0u16; 10];
		select_top_k(&vals, &mut out, &mut TopKScratch::default());
		assert_eq!(out, (0..10).collect::<Vec<u16>>());
		let vals: Vec<f32> = (0..100).map(|i| if i % 2 == 0 { -2.0 } else { 2.0 }).collect();
		select_top_k(&vals, &mut out, &mut TopKScratch::default());
		assert_eq!(out, (0..10).collect::<Vec<u16>>());
	}

	#[test]
	fn zeros_and_subnormals() {
		let mut vals = vec![0.0f32; 4096];
		vals[4000] = f32::from_bits(1); // smallest subnormal
		vals[17] = -f32::from_bits(5);
		let mut out = vec![0u16; 3];
		select_top_k(&vals, &mut out, &mut TopKScratch::default());
		assert_eq!(out, vec![0, 17, 4000]);
	}
}
