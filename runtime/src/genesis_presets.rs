//! Genesis presets: `development` (the `--dev` chain) and `local_testnet`. Both fund the dev
//! accounts, make Alice sudo, and register a few of them as training peers (deposit held), each
//! reading and writing under its own prefix of the `tessera` bucket of a local S3 server on
//! port 9000 — what the local network starts.

use crate::{AccountId, BalancesConfig, RuntimeGenesisConfig, SudoConfig, TrainingConfig, UNIT};
use alloc::{format, vec, vec::Vec};
use frame_support::build_struct_json_patch;
use pallet_training::{GenesisPeer, Role};
use serde_json::Value;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::Sr25519Keyring;

/// Balance of each endowed dev account.
pub const ENDOWMENT: u128 = 1_000_000 * UNIT;

/// Where the local network's peers keep their payloads.
pub const LOCAL_S3_ENDPOINT: &str = "http://127.0.0.1:9000";
/// The local network's bucket.
pub const LOCAL_BUCKET: &str = "tessera";

fn peer(key: Sr25519Keyring, role: Role) -> GenesisPeer<AccountId> {
	GenesisPeer {
		account: key.to_account_id(),
		role,
		endpoint: LOCAL_S3_ENDPOINT.into(),
		bucket: LOCAL_BUCKET.into(),
		prefix: format!("{key:?}").to_lowercase(),
		// Validators start with enough stake for a permit.
		stake: match role {
			Role::Validator => VALIDATOR_STAKE,
			Role::Miner => 0,
		},
	}
}

/// Stake bonded at genesis by the presets' validators.
pub const VALIDATOR_STAKE: u128 = 10_000 * UNIT;

fn genesis(endowed: Vec<AccountId>, peers: Vec<GenesisPeer<AccountId>>, root: AccountId) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed.into_iter().map(|a| (a, ENDOWMENT)).collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		training: TrainingConfig { peers },
	})
}

/// The `development` preset: all well-known dev accounts funded; Alice, Bob and Charlie
/// registered as miners and Dave as a validator (Eve and Ferdie are left to register themselves).
pub fn development_config_genesis() -> Value {
	use Sr25519Keyring::*;
	genesis(
		Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect(),
		vec![
			peer(Alice, Role::Miner),
			peer(Bob, Role::Miner),
			peer(Charlie, Role::Miner),
			peer(Dave, Role::Validator),
		],
		Alice.to_account_id(),
	)
}

/// The `local_testnet` preset: all well-known dev accounts funded; Alice and Bob registered as
/// miners and Charlie as a validator.
pub fn local_testnet_genesis() -> Value {
	use Sr25519Keyring::*;
	genesis(
		Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect(),
		vec![peer(Alice, Role::Miner), peer(Bob, Role::Miner), peer(Charlie, Role::Validator)],
		Alice.to_account_id(),
	)
}

/// The JSON patch of preset `id`, if it exists.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_testnet_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// Names of the presets this runtime provides.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_runtime::BuildStorage;

	#[test]
	fn presets_build_genesis_storage() {
		for name in preset_names() {
			let json = get_preset(&name).expect("listed preset exists");
			let mut config = serde_json::to_value(RuntimeGenesisConfig::default())
				.expect("default genesis serialises");
			let patch: Value = serde_json::from_slice(&json).expect("preset is JSON");
			json_patch(&mut config, patch);
			let config: RuntimeGenesisConfig =
				serde_json::from_value(config).expect("patched genesis deserialises");
			config.build_storage().expect("preset genesis builds");
		}
	}

	#[test]
	fn unknown_preset_is_none() {
		assert!(get_preset(&PresetId::from("nope")).is_none());
	}

	fn json_patch(base: &mut Value, patch: Value) {
		match (base, patch) {
			(Value::Object(b), Value::Object(p)) => {
				for (k, v) in p {
					json_patch(b.entry(k).or_insert(Value::Null), v);
				}
			},
			(b, p) => *b = p,
		}
	}
}
