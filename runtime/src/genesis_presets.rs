//! Genesis presets: `development` (the `--dev` chain) and `local_testnet`. Both fund the dev
//! accounts, make Alice sudo, and register a few of them as training peers.

use crate::{AccountId, BalancesConfig, RuntimeGenesisConfig, SudoConfig, TrainingConfig, UNIT};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::Sr25519Keyring;

/// Balance of each endowed dev account.
pub const ENDOWMENT: u128 = 1_000_000 * UNIT;

fn genesis(endowed: Vec<AccountId>, peers: Vec<AccountId>, root: AccountId) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed.into_iter().map(|a| (a, ENDOWMENT)).collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		training: TrainingConfig { peers },
	})
}

/// The `development` preset: all well-known dev accounts funded; Alice, Bob, Charlie and Dave
/// registered as peers (Eve and Ferdie are left to register themselves).
pub fn development_config_genesis() -> Value {
	genesis(
		Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect(),
		[Sr25519Keyring::Alice, Sr25519Keyring::Bob, Sr25519Keyring::Charlie, Sr25519Keyring::Dave]
			.iter()
			.map(|k| k.to_account_id())
			.collect(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The `local_testnet` preset: all well-known dev accounts funded; Alice, Bob and Charlie
/// registered as peers.
pub fn local_testnet_genesis() -> Value {
	genesis(
		Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect(),
		[Sr25519Keyring::Alice, Sr25519Keyring::Bob, Sr25519Keyring::Charlie]
			.iter()
			.map(|k| k.to_account_id())
			.collect(),
		Sr25519Keyring::Alice.to_account_id(),
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
