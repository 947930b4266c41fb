//! Why an update was set aside: the bits of `pallet_training::gauntlet::Flags`, mirrored here so
//! the trainer does not link the pallet. The pallet refuses unknown bits, so a drift between the
//! two is caught by the end-to-end tests' submissions.

/// No readable payload in the reveal period (nothing committed, or nothing at the key).
pub const MISSING: u8 = 1 << 0;
/// Uploaded after the reveal period.
pub const LATE: u8 = 1 << 1;
/// Readable before the window closed.
pub const EARLY: u8 = 1 << 2;
/// Hash mismatch, decode error or non-finite values.
pub const INVALID: u8 = 1 << 3;
/// A copy (or near copy) of another peer's update.
pub const COPIED: u8 = 1 << 4;
/// Trained from parameters other than the window's θ.
pub const DIVERGED: u8 = 1 << 5;

/// The names of the bits set in `flags`, for logs and tables.
pub fn names(flags: u8) -> Vec<&'static str> {
	[
		(MISSING, "missing"),
		(LATE, "late"),
		(EARLY, "early"),
		(INVALID, "invalid"),
		(COPIED, "copied"),
		(DIVERGED, "diverged"),
	]
	.into_iter()
	.filter(|(bit, _)| flags & bit != 0)
	.map(|(_, name)| name)
	.collect()
}

#[cfg(test)]
mod tests {
	#[test]
	fn names_list_the_set_bits_in_order() {
		assert_eq!(super::names(super::INVALID | super::COPIED), vec!["invalid", "copied"]);
		assert!(super::names(0).is_empty());
	}
}
