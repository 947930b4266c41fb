//! Amounts of the chain's token: the runtime counts in base units (planck), 10¹² to one TSR
//! (the chain spec's `tokenDecimals`); people read and type TSR with up to 12 decimals.

/// Decimals of one TSR (the chain spec's `tokenDecimals`).
pub const DECIMALS: u32 = 12;
/// Base units in one TSR.
pub const UNIT: u128 = 10u128.pow(DECIMALS);

/// Why an amount could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AmountError {
	/// Not a plain decimal number.
	#[error("{0:?} is not an amount: give TSR as a decimal number, e.g. 1000 or 12.5")]
	NotANumber(String),
	/// More decimals than the token has.
	#[error("{0:?} has more than {DECIMALS} decimals")]
	TooPrecise(String),
	/// More than the chain can count.
	#[error("{0:?} is more than the chain can count")]
	TooLarge(String),
}

/// `base` base units as TSR with all 12 decimals (`1.500000000000`).
pub fn format(base: u128) -> String {
	format!("{}.{:0width$}", base / UNIT, base % UNIT, width = DECIMALS as usize)
}

/// `base` base units as TSR with trailing zero decimals dropped (`1.5 TSR`, `100 TSR`).
pub fn short(base: u128) -> String {
	let whole = base / UNIT;
	let fraction = base % UNIT;
	if fraction == 0 {
		return format!("{whole} TSR");
	}
	let digits = format!("{fraction:0width$}", width = DECIMALS as usize);
	format!("{whole}.{} TSR", digits.trim_end_matches('0'))
}

/// A decimal amount of TSR (`1000`, `12.5`, `0.000000000001`; an optional ` TSR` after it) in
/// base units. Exact: no floating point on the way.
pub fn parse(text: &str) -> Result<u128, AmountError> {
	let trimmed = text.trim();
	let number = trimmed.strip_suffix("TSR").map_or(trimmed, str::trim_end);
	let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
	let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
	if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
		return Err(AmountError::NotANumber(text.into()));
	}
	if fraction.len() > DECIMALS as usize {
		return Err(AmountError::TooPrecise(text.into()));
	}
	let too_large = || AmountError::TooLarge(text.into());
	let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| too_large())? };
	let padded = format!("{fraction:0<width$}", width = DECIMALS as usize);
	let fraction: u128 = padded.parse().map_err(|_| AmountError::NotANumber(text.into()))?;
	whole.checked_mul(UNIT).and_then(|w| w.checked_add(fraction)).ok_or_else(too_large)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn amounts_read_exactly() {
		assert_eq!(parse("1000"), Ok(1000 * UNIT));
		assert_eq!(parse("12.5"), Ok(12 * UNIT + UNIT / 2));
		assert_eq!(parse(".5"), Ok(UNIT / 2));
		assert_eq!(parse("0.000000000001"), Ok(1));
		assert_eq!(parse("7 TSR"), Ok(7 * UNIT));
		assert_eq!(parse("7TSR"), Ok(7 * UNIT));
		assert!(matches!(parse("0.0000000000001"), Err(AmountError::TooPrecise(_))));
		for bad in ["", ".", "-1", "1e3", "1,5", "one", "1.2.3", "+1", " TSR"] {
			assert!(matches!(parse(bad), Err(AmountError::NotANumber(_))), "{bad:?}");
		}
		assert!(matches!(parse(&"9".repeat(40)), Err(AmountError::TooLarge(_))));
	}

	#[test]
	fn amounts_print_as_tsr() {
		assert_eq!(format(1_500_000_000_000), "1.500000000000");
		assert_eq!(format(1), "0.000000000001");
		assert_eq!(short(100 * UNIT), "100 TSR");
		assert_eq!(short(UNIT + UNIT / 4), "1.25 TSR");
		assert_eq!(short(0), "0 TSR");
		for base in [0, 1, 999, UNIT, 123_456_789_012_345] {
			assert_eq!(parse(&format(base)), Ok(base));
			assert_eq!(parse(&short(base)), Ok(base));
		}
	}
}
