//! What genesis registers: [`GenesisPeer`] (a peer, its storage location and stake, as a chain
//! spec writes it) and the checked conversion of its location fields. The pallet's
//! `GenesisConfig` and its build live in `lib.rs`.

use alloc::string::String;
use frame_support::{BoundedVec, traits::Get};

use crate::types::Role;

/// A peer registered at genesis (its deposit is held from its genesis balance).
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct GenesisPeer<AccountId> {
	/// The peer's account.
	pub account: AccountId,
	/// Miner or validator.
	pub role: Role,
	/// Storage endpoint URL.
	pub endpoint: String,
	/// Storage bucket.
	pub bucket: String,
	/// Key prefix.
	pub prefix: String,
	/// Stake bonded at genesis (held from its genesis balance).
	#[serde(default)]
	pub stake: u128,
}

/// A genesis location field as stored, refusing (not truncating) one that is too long.
pub(crate) fn bounded<S: Get<u32>>(
	account: &impl core::fmt::Debug,
	field: &str,
	value: &str,
) -> BoundedVec<u8, S> {
	value
		.as_bytes()
		.to_vec()
		.try_into()
		.unwrap_or_else(|_| panic!("genesis peer {account:?}: {field} too long"))
}
