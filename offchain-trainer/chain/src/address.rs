//! Accounts as people and tools see them: SS58 addresses with the connected chain's prefix
//! (`System::SS58Prefix`, read by [`crate::connect`]; 42, Substrate's generic prefix, until
//! then), the form every Substrate and Bittensor tool shows. Parsing takes an SS58 address of
//! any prefix, 32 bytes of hex (with or without `0x`) or a dev key URI (`//Alice`).

use blake2::{Blake2b512, Digest};
use std::{
	str::FromStr,
	sync::atomic::{AtomicU16, Ordering},
};

/// Substrate's generic prefix, the dev chain's.
pub const GENERIC_PREFIX: u16 = 42;

static PREFIX: AtomicU16 = AtomicU16::new(GENERIC_PREFIX);

/// The prefix addresses are shown with.
pub fn prefix() -> u16 {
	PREFIX.load(Ordering::Relaxed)
}

/// Shows addresses with `prefix` from now on (the connected chain's); a prefix SS58 cannot
/// encode (above 16 383) is refused and the current one kept.
pub fn set_prefix(prefix: u16) -> Result<(), AddressError> {
	if prefix > 16_383 {
		return Err(AddressError::Prefix(prefix));
	}
	PREFIX.store(prefix, Ordering::Relaxed);
	Ok(())
}

/// `account` as an SS58 address with the chain's prefix.
pub fn ss58(account: &[u8; 32]) -> String {
	encode(account, prefix())
}

/// `account` as an SS58 address with `prefix` (at most 16 383; larger ones are masked).
pub fn encode(account: &[u8; 32], prefix: u16) -> String {
	let prefix = prefix & 0x3fff;
	let mut bytes = Vec::with_capacity(2 + 32 + 2);
	if prefix < 64 {
		bytes.push(prefix as u8);
	} else {
		// The two-byte form: 01 + the low 6 bits of the first byte's upper part, then the rest.
		bytes.push((((prefix & 0b1111_1100) >> 2) as u8) | 0b0100_0000);
		bytes.push(((prefix >> 8) as u8) | (((prefix & 0b11) as u8) << 6));
	}
	bytes.extend_from_slice(account);
	let checksum = checksum(&bytes);
	bytes.extend_from_slice(&checksum);
	bs58::encode(bytes).into_string()
}

fn checksum(data: &[u8]) -> [u8; 2] {
	let hash = Blake2b512::new().chain_update(b"SS58PRE").chain_update(data).finalize();
	[hash[0], hash[1]]
}

/// Why a text is not an account.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
	/// Neither SS58, 32 bytes of hex nor a dev key URI.
	#[error(
		"{0:?} is not an account: give an SS58 address, 32 bytes of hex or a dev key (//Alice)"
	)]
	Unrecognised(String),
	/// A prefix SS58 cannot encode.
	#[error("SS58 prefix {0} is out of range (at most 16383)")]
	Prefix(u16),
}

/// An account from an SS58 address (any prefix; its checksum checked), 32 bytes of hex (with
/// or without `0x`) or a dev key URI (`//Alice`, `//Bob//stash`).
pub fn parse(text: &str) -> Result<[u8; 32], AddressError> {
	let bad = || AddressError::Unrecognised(text.into());
	let text = text.trim();
	if text.starts_with("//") {
		let uri = subxt_signer::SecretUri::from_str(text).map_err(|_| bad())?;
		let pair = subxt_signer::sr25519::Keypair::from_uri(&uri).map_err(|_| bad())?;
		return Ok(pair.public_key().0);
	}
	let hex_part = text.strip_prefix("0x").unwrap_or(text);
	if hex_part.len() == 64 {
		return hex::decode(hex_part).map_err(|_| bad())?.try_into().map_err(|_| bad());
	}
	crate::AccountId::from_str(text).map(|a| a.0).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
	use super::*;

	const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
	const ALICE_HEX: &str = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";

	#[test]
	fn alice_encodes_as_every_substrate_tool_shows_her() {
		let alice: [u8; 32] = hex::decode(ALICE_HEX).unwrap().try_into().unwrap();
		assert_eq!(encode(&alice, 42), ALICE);
		// Polkadot (0) and Kusama (2), as subkey prints them.
		assert_eq!(encode(&alice, 0), "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5");
		assert_eq!(encode(&alice, 2), "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F");
		// A two-byte prefix (Moonbeam's 1284; the figures computed independently from the SS58
		// spec) round-trips through the parser, which takes any prefix.
		assert_eq!(encode(&alice, 1284), "VdvKmYJfD4VXA9fzz1SbmCo2eYHSzUFbaDCZSuaNKJAe8YNg6");
		assert_eq!(parse(&encode(&alice, 1284)).unwrap(), alice);
		assert_eq!(crate::AccountId::from(alice).to_string(), encode(&alice, GENERIC_PREFIX));
	}

	#[test]
	fn accounts_parse_from_ss58_hex_and_dev_keys() {
		let alice: [u8; 32] = hex::decode(ALICE_HEX).unwrap().try_into().unwrap();
		assert_eq!(parse(ALICE).unwrap(), alice);
		assert_eq!(parse(ALICE_HEX).unwrap(), alice);
		assert_eq!(parse(&format!("0x{ALICE_HEX}")).unwrap(), alice);
		assert_eq!(parse("//Alice").unwrap(), alice);
		// A flipped character breaks the checksum.
		let mut wrong = ALICE.to_string();
		wrong.replace_range(10..11, "a");
		assert!(matches!(parse(&wrong), Err(AddressError::Unrecognised(_))));
		assert!(parse("0x1234").is_err());
		assert!(parse("").is_err());
		assert_eq!(set_prefix(16_384), Err(AddressError::Prefix(16_384)));
	}
}
