//! Chain specifications built from the runtime's genesis presets: `dev` (preset
//! `development`) and `local` (preset `local_testnet`). The JSON files under `chain-spec/` are
//! these, exported by `tessera-node export-chain-spec`.

use sc_service::ChainType;
use tessera_runtime::WASM_BINARY;

/// Our chain spec type: generic, with no client extensions.
pub type ChainSpec = sc_service::GenericChainSpec;

fn wasm() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| {
		"the runtime's wasm binary is not available: it was built with SKIP_WASM_BUILD".to_string()
	})
}

fn properties() -> sc_chain_spec::Properties {
	let mut p = sc_chain_spec::Properties::new();
	p.insert("tokenSymbol".into(), "TSR".into());
	p.insert("tokenDecimals".into(), 12.into());
	p.insert("ss58Format".into(), 42.into());
	p
}

/// The development chain: one node, fast sealing, instant finality.
pub fn development() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("tessera development")
		.with_id("tessera_dev")
		.with_chain_type(ChainType::Development)
		.with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// A local test network.
pub fn local_testnet() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("tessera local testnet")
		.with_id("tessera_local_testnet")
		.with_chain_type(ChainType::Local)
		.with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}
