//! The subxt client is generated from `offchain-trainer/metadata/tessera.scale`; this fails when
//! that file no longer matches the runtime. Regenerate with:
//! `cargo run -p tessera-node -- export-metadata -o offchain-trainer/metadata/tessera.scale`

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
