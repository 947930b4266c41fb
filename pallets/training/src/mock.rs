//! Mock runtime for `pallet-training` unit tests: System + Training, `u64` accounts, windows of
//! 10 blocks, 3 retained windows, at most 4 peers.

use crate as pallet_training;
use frame_support::{derive_impl, parameter_types, traits::Hooks};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(RuntimeCall, RuntimeEvent, RuntimeError, RuntimeOrigin, RuntimeTask)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	#[runtime::pallet_index(1)]
	pub type Training = pallet_training;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

/// Blocks per window in the mock.
pub const WINDOW: u64 = 10;

parameter_types! {
	pub const WindowLength: u64 = WINDOW;
	pub const RetainWindows: u32 = 3;
	pub const MaxPeers: u32 = 4;
	pub const MaxPayloadLen: u32 = 1_000_000;
}

impl pallet_training::Config for Test {
	type WindowLength = WindowLength;
	type RetainWindows = RetainWindows;
	type MaxPeers = MaxPeers;
	type MaxPayloadLen = MaxPayloadLen;
	type SeedSource = pallet_training::ParentHashSeed<Test>;
	type WeightInfo = ();
}

/// Accounts registered at genesis, in order.
pub const ALICE: u64 = 1;
pub const BOB: u64 = 2;
pub const CHARLIE: u64 = 3;
/// Not registered at genesis.
pub const DAVE: u64 = 4;
pub const EVE: u64 = 5;

/// Externalities with Alice, Bob and Charlie registered; block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let storage = RuntimeGenesisConfig {
		system: Default::default(),
		training: pallet_training::GenesisConfig { peers: vec![ALICE, BOB, CHARLIE] },
	}
	.build_storage()
	.expect("the mock genesis is valid");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs `test` in fresh externalities, then checks the pallet's storage invariants.
pub fn run_test(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Training::do_try_state().expect("storage invariants hold after the test");
	});
}

/// Advances block by block until `n`, running the pallet's `on_initialize` on each block with a
/// distinct parent hash, as the executive would.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		let parent = System::finalize().hash();
		System::reset_events();
		System::initialize(&next, &parent, &Default::default());
		Training::on_initialize(next);
	}
}

/// Advances to the first block of window `w`.
pub fn run_to_window(w: u64) {
	run_to_block(w * WINDOW);
}

/// The pallet's events deposited so far in this block.
pub fn training_events() -> Vec<pallet_training::Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Training(e) => Some(e),
			_ => None,
		})
		.collect()
}
