//! Window arithmetic: which block opens which window. Pure functions, no storage.

use crate::types::WindowIndex;
use sp_runtime::traits::{AtLeast32BitUnsigned, UniqueSaturatedInto};

/// The window that block `block` opens, if it opens one: window `w ≥ 1` opens at `w * length`.
pub fn window_opened_at<B: AtLeast32BitUnsigned + Copy>(
	block: B,
	length: B,
) -> Option<WindowIndex> {
	if length.is_zero() || block.is_zero() || !(block % length).is_zero() {
		return None;
	}
	Some((block / length).unique_saturated_into())
}

/// First block of window `window` (saturating at the block number's maximum).
pub fn window_start<B: AtLeast32BitUnsigned + Copy>(window: WindowIndex, length: B) -> B {
	let w: B = window.unique_saturated_into();
	w.saturating_mul(length)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn opens_every_length_blocks_from_one() {
		assert_eq!(window_opened_at(0u32, 10), None);
		assert_eq!(window_opened_at(5u32, 10), None);
		assert_eq!(window_opened_at(10u32, 10), Some(1));
		assert_eq!(window_opened_at(11u32, 10), None);
		assert_eq!(window_opened_at(30u32, 10), Some(3));
	}

	#[test]
	fn zero_length_never_opens() {
		assert_eq!(window_opened_at(10u32, 0), None);
	}

	#[test]
	fn start_is_inverse_of_open() {
		for w in 1..50u64 {
			let start = window_start::<u32>(w, 7);
			assert_eq!(window_opened_at(start, 7), Some(w));
		}
		assert_eq!(window_start::<u32>(u64::MAX, 7), u32::MAX);
	}
}
