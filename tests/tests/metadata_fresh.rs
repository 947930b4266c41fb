//! The subxt client is generated from `offchain-trainer/metadata/tessera.scale`, and
//! `docs/pallet.md` from that file; these fail when either no longer matches the runtime.
//! Regenerate both with `scripts/export-chain-specs.sh`.

use tessera_e2e::workspace_root;

#[test]
fn checked_in_metadata_matches_the_runtime() {
	let path = workspace_root().join("offchain-trainer/metadata/tessera.scale");
	let checked_in = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
	let current = tessera_runtime::Runtime::metadata_at_version(16)
		.expect("the runtime provides metadata V16");
	let current: &[u8] = &current;
	assert!(
		checked_in == current,
		"{} is stale: run `cargo run -p tessera-node -- export-metadata -o \
		 offchain-trainer/metadata/tessera.scale`",
		path.display()
	);
}

#[test]
fn docs_pallet_md_matches_the_metadata() {
	let root = workspace_root();
	let metadata = std::fs::read(root.join("offchain-trainer/metadata/tessera.scale"))
		.expect("the checked-in metadata");
	let page = tessera_chain::docs::pallet_markdown(&metadata, "Training")
		.expect("the metadata describes pallet-training");
	let checked_in = std::fs::read_to_string(root.join("docs/pallet.md")).unwrap_or_default();
	assert!(checked_in == page, "docs/pallet.md is stale: run `scripts/export-chain-specs.sh`");
}
