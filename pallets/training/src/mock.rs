//! Mock runtime for `pallet-training` unit tests: System + Balances + Training, `u64` accounts,
//! windows of 10 blocks, 3 retained windows, at most 4 peers, a deposit of 100, a cool-down of
//! 5 blocks, two validator permits per window for a stake of at least 50, results accepted for
//! 5 blocks after a window ends, aggregation sets of 3 and an incentive EMA with α = ½.

use crate as pallet_training;
use frame_support::{derive_impl, parameter_types, traits::Hooks};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeTask,
		RuntimeHoldReason,
		RuntimeFreezeReason
	)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	#[runtime::pallet_index(1)]
	pub type Balances = pallet_balances;

	#[runtime::pallet_index(2)]
	pub type Training = pallet_training;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
}

/// Blocks per window in the mock.
pub const WINDOW: u64 = 10;

parameter_types! {
	pub const WindowLength: u64 = WINDOW;
	pub static RetainWindows: u32 = 3;
	pub const MaxCheckpoints: u32 = 2;
	pub static EmissionPerWindow: u64 = EMISSION;
	pub const MaxEmissionPerWindow: u64 = 1_000_000;
	pub const MinersShare: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(41);
	pub const ValidatorsShare: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(41);
	pub static RewardsOwner: Option<u64> = Some(OWNER);
	pub const AgreementAlpha: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(10);
	pub const MaxPeers: u32 = 8;
	pub const MaxPayloadLen: u32 = 1_000_000;
	pub const PeerDeposit: u64 = DEPOSIT;
	pub const DeregisterCooldown: u64 = COOLDOWN;
	pub static MaxValidators: u32 = 2;
	pub const MinValidatorStake: u64 = MIN_STAKE;
	pub const ScoreDeadlineBlocks: u64 = DEADLINE;
	pub const RevealBlocks: u64 = 3;
	pub const AggregationSize: u32 = 3;
	pub const IncentiveAlpha: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(50);
	pub const AggregationWeightFloor: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(25);
	pub const BindingThreshold: sp_runtime::Perbill = sp_runtime::Perbill::from_parts(666_666_667);
	pub const UnbondingPeriod: u64 = UNBONDING;
	pub const ImmunityPeriod: u64 = IMMUNITY;
}

/// Blocks after a window ends during which its results are accepted.
pub const DEADLINE: u64 = 5;
/// Blocks from `unbond` to `withdraw_unbonded`: a window, its scoring period and 5 blocks (longer
/// than the cool-down, so a staked validator's leave waits for its stake).
pub const UNBONDING: u64 = WINDOW + DEADLINE + 5;
/// Blocks a newcomer cannot be evicted.
pub const IMMUNITY: u64 = 10;

/// Least stake for a validator permit.
pub const MIN_STAKE: u64 = 50;
/// Charlie's stake at genesis.
pub const CHARLIE_STAKE: u64 = 100;

/// The deposit a peer's account holds.
pub const DEPOSIT: u64 = 100;
/// Blocks between `deregister` and `withdraw_deposit`: a window and its scoring period (the
/// least a parameter set may give).
pub const COOLDOWN: u64 = WINDOW + DEADLINE;

impl pallet_training::Config for Test {
	type WindowLength = WindowLength;
	type RetainWindows = RetainWindows;
	type MaxPeers = MaxPeers;
	type MaxPayloadLen = MaxPayloadLen;
	type SeedSource = pallet_training::ParentHashSeed<Test>;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type PeerDeposit = PeerDeposit;
	type DeregisterCooldown = DeregisterCooldown;
	type Stake = pallet_training::HeldStake<Test>;
	type MaxValidators = MaxValidators;
	type MinValidatorStake = MinValidatorStake;
	type ScoreDeadlineBlocks = ScoreDeadlineBlocks;
	type RevealBlocks = RevealBlocks;
	type AggregationSize = AggregationSize;
	type IncentiveAlpha = IncentiveAlpha;
	type AggregationWeightFloor = AggregationWeightFloor;
	type BindingThreshold = BindingThreshold;
	type UnbondingPeriod = UnbondingPeriod;
	type ImmunityPeriod = ImmunityPeriod;
	type MaxCheckpoints = MaxCheckpoints;
	type Rewards = pallet_training::Mint<Balances, pallet_training::GovernedEmission<Test>>;
	type EmissionPerWindow = EmissionPerWindow;
	type MaxEmissionPerWindow = MaxEmissionPerWindow;
	type AdminOrigin = frame_system::EnsureRoot<u64>;
	type MinersShare = MinersShare;
	type ValidatorsShare = ValidatorsShare;
	type RewardsOwner = RewardsOwner;
	type AgreementAlpha = AgreementAlpha;
	type WeightInfo = ();
}

/// Accounts registered at genesis, in order: Alice and Bob as miners, Charlie as a validator.
pub const ALICE: u64 = 1;
pub const BOB: u64 = 2;
pub const CHARLIE: u64 = 3;
/// Funded, not registered at genesis.
pub const DAVE: u64 = 4;
pub const EVE: u64 = 5;
/// Holds less than the deposit.
pub const FERDIE: u64 = 6;
/// Three funded accounts an attacker registers as miners that never train.
pub const FAKES: [u64; 3] = [7, 8, 9];
/// Balance of every funded account.
pub const BALANCE: u64 = 1_000;

/// What a window pays out in the mock (the test of the books sets others).
pub const EMISSION: u64 = 1_000;
/// The subnet owner (receives the rest of each window's emission); not a peer.
pub const OWNER: u64 = 99;

/// A valid storage location.
pub fn location(prefix: &str) -> crate::StorageLocation {
	crate::location::location("http://127.0.0.1:9000", "tessera", prefix)
}

/// A genesis peer with a valid location.
pub fn genesis_peer(account: u64, role: crate::Role) -> crate::GenesisPeer<u64> {
	crate::GenesisPeer {
		account,
		role,
		endpoint: "http://127.0.0.1:9000".into(),
		bucket: "tessera".into(),
		prefix: format!("peer-{account}"),
		stake: 0,
	}
}

/// The mock's genesis: funded accounts and the three genesis peers.
pub fn genesis() -> RuntimeGenesisConfig {
	use crate::Role::{Miner, Validator};
	RuntimeGenesisConfig {
		system: Default::default(),
		balances: pallet_balances::GenesisConfig {
			balances: vec![
				(ALICE, BALANCE),
				(BOB, BALANCE),
				(CHARLIE, BALANCE),
				(DAVE, BALANCE),
				(EVE, BALANCE),
				(FERDIE, DEPOSIT - 1),
				(FAKES[0], BALANCE),
				(FAKES[1], BALANCE),
				(FAKES[2], BALANCE),
			],
			..Default::default()
		},
		training: pallet_training::GenesisConfig {
			peers: vec![
				genesis_peer(ALICE, Miner),
				genesis_peer(BOB, Miner),
				crate::GenesisPeer {
					stake: CHARLIE_STAKE.into(),
					..genesis_peer(CHARLIE, Validator)
				},
			],
			run: None,
		},
	}
}

/// Externalities of `genesis()`; block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let storage = genesis().build_storage().expect("the mock genesis is valid");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Externalities for the benchmark test suite: funded accounts but no genesis peers, so the
/// benchmarks can fill the peer set up to `MaxPeers`.
#[cfg(feature = "runtime-benchmarks")]
pub fn new_bench_ext() -> sp_io::TestExternalities {
	let mut g = genesis();
	g.training.peers.clear();
	let mut ext = sp_io::TestExternalities::new(g.build_storage().expect("valid genesis"));
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

/// A validator's result for `peer` with final score `percent` (other fields plausible constants).
pub fn peer_result(peer: u64, percent: u32) -> crate::PeerResult<u64> {
	crate::PeerResult {
		peer,
		loss_before_assigned: 4_000_000,
		loss_after_assigned: 3_900_000,
		loss_before_random: 4_000_000,
		loss_after_random: 3_950_000,
		gradient_score: 12_500,
		synced: true,
		rating_mu: 25_000_000,
		rating_sigma: 8_000_000,
		final_score: sp_runtime::Perbill::from_percent(percent),
		flags: crate::Flags::default(),
	}
}
