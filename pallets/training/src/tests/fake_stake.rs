//! The stake seam (DESIGN.md §3): a runtime whose stake lives elsewhere (a Bittensor-style
//! staking pallet) plugs it in through `Config::Stake`. Here a second test runtime reads stake
//! from a plain table and never bonds anything, and permits follow that table.

use crate::{self as pallet_training, Role, StakeInfo};
use frame_support::{derive_impl, parameter_types, traits::Hooks};
use sp_runtime::BuildStorage;
use std::{cell::RefCell, collections::BTreeMap};

type Block = frame_system::mocking::MockBlock<FakeStakeRuntime>;

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
	pub struct FakeStakeRuntime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	#[runtime::pallet_index(1)]
	pub type Balances = pallet_balances;

	#[runtime::pallet_index(2)]
	pub type Training = pallet_training;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for FakeStakeRuntime {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for FakeStakeRuntime {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
}

thread_local! {
	static STAKES: RefCell<BTreeMap<u64, u64>> = const { RefCell::new(BTreeMap::new()) };
}

/// Stake from a table another pallet would own.
pub struct TableStake;

impl StakeInfo<u64, u64> for TableStake {
	fn stake_of(who: &u64) -> u64 {
		STAKES.with(|s| s.borrow().get(who).copied().unwrap_or_default())
	}
}

fn set_stake(who: u64, stake: u64) {
	STAKES.with(|s| s.borrow_mut().insert(who, stake));
}

parameter_types! {
	pub const WindowLength: u64 = 10;
	pub const RetainWindows: u32 = 3;
	pub const MaxCheckpoints: u32 = 2;
	pub const EmissionPerWindow: u64 = 1_000;
	pub const MaxEmissionPerWindow: u64 = 1_000_000;
	pub const MinersShare: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(41);
	pub const ValidatorsShare: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(41);
	pub RewardsOwner: Option<u64> = None;
	pub const AgreementAlpha: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(10);
	pub const MaxPeers: u32 = 8;
	pub const MaxPayloadLen: u32 = 1_000;
	pub const PeerDeposit: u64 = 10;
	pub const DeregisterCooldown: u64 = 15;
	pub const MaxValidators: u32 = 2;
	pub const MinValidatorStake: u64 = 1_000;
	pub const ScoreDeadlineBlocks: u64 = 5;
	pub const RevealBlocks: u64 = 3;
	pub const AggregationSize: u32 = 4;
	pub const IncentiveAlpha: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(10);
	pub const AggregationWeightFloor: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(25);
	pub const BindingThreshold: sp_runtime::Perbill = sp_runtime::Perbill::from_parts(666_666_667);
	pub const UnbondingPeriod: u64 = 15;
	pub const ImmunityPeriod: u64 = 10;
}

impl pallet_training::Config for FakeStakeRuntime {
	type WindowLength = WindowLength;
	type RetainWindows = RetainWindows;
	type MaxCheckpoints = MaxCheckpoints;
	type Rewards =
		pallet_training::Mint<Balances, pallet_training::GovernedEmission<FakeStakeRuntime>>;
	type EmissionPerWindow = EmissionPerWindow;
	type MaxEmissionPerWindow = MaxEmissionPerWindow;
	type AdminOrigin = frame_system::EnsureRoot<u64>;
	type MinersShare = MinersShare;
	type ValidatorsShare = ValidatorsShare;
	type RewardsOwner = RewardsOwner;
	type AgreementAlpha = AgreementAlpha;
	type MaxPeers = MaxPeers;
	type MaxPayloadLen = MaxPayloadLen;
	type SeedSource = pallet_training::ParentHashSeed<FakeStakeRuntime>;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type PeerDeposit = PeerDeposit;
	type DeregisterCooldown = DeregisterCooldown;
	type Stake = TableStake;
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
	type WeightInfo = ();
}

fn validator(account: u64) -> pallet_training::GenesisPeer<u64> {
	pallet_training::GenesisPeer {
		account,
		role: Role::Validator,
		endpoint: "https://s3.example.org".into(),
		bucket: "grads".into(),
		prefix: String::new(),
		stake: 0,
	}
}

#[test]
fn permits_follow_an_external_stake_table() {
	let storage = RuntimeGenesisConfig {
		system: Default::default(),
		balances: pallet_balances::GenesisConfig {
			balances: vec![(1, 100), (2, 100), (3, 100)],
			..Default::default()
		},
		training: pallet_training::GenesisConfig {
			peers: vec![validator(1), validator(2), validator(3)],
			run: None,
		},
	}
	.build_storage()
	.expect("valid genesis");
	sp_io::TestExternalities::new(storage).execute_with(|| {
		// Nobody holds 1 000 in this runtime's balances; the table decides.
		set_stake(1, 5_000);
		set_stake(2, 500);
		set_stake(3, 9_000);
		System::set_block_number(10);
		Training::on_initialize(10);
		assert_eq!(
			pallet_training::WindowValidators::<FakeStakeRuntime>::get(1).into_inner(),
			vec![3, 1]
		);
		set_stake(2, 20_000);
		System::set_block_number(20);
		Training::on_initialize(20);
		assert_eq!(
			pallet_training::WindowValidators::<FakeStakeRuntime>::get(2).into_inner(),
			vec![2, 3]
		);
		Training::do_try_state().expect("invariants hold");
	});
}
