//! Top-k by magnitude inside one chunk, deterministic: the k largest `|v|`, ties broken by the
//! lower position, returned in ascending position order.
//!
//! A radix select on the IEEE-754 bits of `|v|` (monotone for non-negative floats): one pass
//! builds a histogram of the 8 exponent bits, which fixes the exponent of the k-th largest
//! value; a second pass takes every value above it and collects the candidates sharing it, of
//! which the needed number is chosen by `(magnitude desc, position asc)`. Two linear passes over
//! at most 4096 values instead of a sort.

/// Reusable buffers for [`select_top_k`].
#[derive(Default)]
pub struct TopKScratch {
	candidates: Vec<(u32, u16)>,
}

/// Magnitude key of a finite float: its bits without the sign.
#[inline(always)]
fn key(v: f32) -> u32 {
	v.to_bits() & 0x7fff_ffff
}

/// Writes into `out` (length `k`, `1 ≤ k ≤ vals.len() ≤ 4096`) the positions of the `k`
/// largest-magnitude values of `vals`, ascending. Values must be finite.
pub fn select_top_k(vals: &[f32], out: &mut [u16], scratch: &mut TopKScratch) {
	let n = vals.len();
	let k = out.len();
	debug_assert!(k >= 1 && k <= n && n <= crate::geometry::MAX_CHUNK_LEN);
	if k == n {
		for (i, o) in out.iter_mut().enumerate() {
			*o = i as u16;
		}
		return;
	}

	let mut hist = [0u16; 256];
	for &v in vals {
		hist[(key(v) >> 23) as usize] += 1;
	}
	// Exponent bucket holding the k-th largest magnitude.
	let mut above = 0usize;
	let mut bucket = 0u32;
	for b in (0..256).rev() {
		let count = hist[b] as usize;
		if above + count >= k {
			bucket = b as u32;
			break;
		}
		above += count;
	}

	let need = k - above;
	let mut filled = 0usize;
	let candidates = &mut scratch.candidates;
	candidates.clear();
	for (i, &v) in vals.iter().enumerate() {
		let kv = key(v);
		let e = kv >> 23;
		if e > bucket {
			out[filled] = i as u16;
			filled += 1;
		} else if e == bucket {
			candidates.push((kv, i as u16));
		}
	}
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
		idx.sort_by(|&a, &b| {
			key(vals[b as usize]).cmp(&key(vals[a as usize])).then(a.cmp(&b))
		});
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
