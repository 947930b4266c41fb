//! Each pallet's `Config` for the tessera runtime, and the runtime's block limits.

use crate::{
	AccountId, Balance, Balances, Block, BlockNumber, EXISTENTIAL_DEPOSIT, Hash, Nonce, PalletInfo,
	Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason, RuntimeOrigin,
	RuntimeTask, System, UNIT, VERSION,
};
use frame_support::{
	derive_impl,
	dispatch::DispatchClass,
	parameter_types,
	traits::{ConstU8, ConstU32, ConstU64, ConstU128, VariantCountOf},
	weights::{
		IdentityFee, Weight,
		constants::{RocksDbWeight, WEIGHT_REF_TIME_PER_SECOND},
	},
};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_runtime::{Perbill, traits::One};
use sp_version::RuntimeVersion;

const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);
const MAX_BLOCK_LENGTH: u32 = 5 * 1024 * 1024;

parameter_types! {
	pub const BlockHashCount: BlockNumber = 2400;
	pub const Version: RuntimeVersion = VERSION;
	/// Two seconds of compute per block.
	pub RuntimeBlockWeights: frame_system::limits::BlockWeights =
		frame_system::limits::BlockWeights::with_sensible_defaults(
			Weight::from_parts(2u64 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
			NORMAL_DISPATCH_RATIO,
		);
	/// 5 MiB blocks, 75% of it for normal transactions.
	pub RuntimeBlockLength: frame_system::limits::BlockLength =
		frame_system::limits::BlockLength::builder()
			.max_length(MAX_BLOCK_LENGTH)
			.modify_max_length_for_class(DispatchClass::Normal, |max| {
				*max = NORMAL_DISPATCH_RATIO * MAX_BLOCK_LENGTH
			})
			.build();
	pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	type DbWeight = RocksDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

impl pallet_timestamp::Config for Runtime {
	type Moment = u64;
	type OnTimestampSet = ();
	/// Blocks are sealed by the node's timer (as fast as every few tens of ms in tests).
	type MinimumPeriod = ConstU64<1>;
	type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type Balance = Balance;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type ReserveIdentifier = [u8; 8];
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type DoneSlashHandler = ();
}

parameter_types! {
	pub FeeMultiplier: Multiplier = Multiplier::one();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = IdentityFee<Balance>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type WeightInfo = ();
}

/// The subnet owner, who receives the rest of each window's emission: the chain's sudo key.
pub struct SudoKey;

impl frame_support::traits::Get<Option<AccountId>> for SudoKey {
	fn get() -> Option<AccountId> {
		pallet_sudo::Key::<Runtime>::get()
	}
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// Blocks per training window.
	pub const WindowLength: BlockNumber = 10;
	/// Windows of commitments kept on chain at most (a run may keep fewer).
	pub const RetainWindows: u32 = 256;
	/// Checkpoints of θ a run may keep on chain at most.
	pub const MaxCheckpoints: u32 = 8;
	/// Minted per window at genesis and paid when its verdict is published
	/// (`docs/incentives.md`); governed after (`set_parameters`).
	pub const EmissionPerWindow: Balance = 100 * UNIT;
	/// The most `set_parameters` may make a window pay.
	pub const MaxEmissionPerWindow: Balance = 10_000 * UNIT;
	/// Miners' share of each window's emission (subtensor's split: 41 / 41 / 18).
	pub const MinersShare: Perbill = Perbill::from_percent(41);
	/// Validators' share of each window's emission.
	pub const ValidatorsShare: Perbill = Perbill::from_percent(41);
	/// Weight of a window in a validator's agreement EMA.
	pub const AgreementAlpha: Perbill = Perbill::from_percent(10);
	/// Registered peers at most.
	pub const MaxPeers: u32 = 256;
	/// Largest announced payload: 2 GiB (a 72B-parameter model compresses to under 2 GB).
	pub const MaxPayloadLen: u32 = 1 << 31;
	/// Deposit held from every peer.
	pub const PeerDeposit: Balance = 100 * UNIT;
	/// Blocks between `deregister` and `withdraw_deposit`: two windows.
	pub const DeregisterCooldown: BlockNumber = 20;
	/// Validators permitted per window.
	pub const MaxValidators: u32 = 64;
	/// Least stake for a validator permit.
	pub const MinValidatorStake: Balance = 1_000 * UNIT;
	/// Results for a window are accepted during the whole next window: the reveal period
	/// (3 blocks), then time to evaluate, notice late uploads and submit. The verdict is
	/// published as the window after next opens, before that window's payloads are revealed.
	pub const ScoreDeadlineBlocks: BlockNumber = 10;
	/// Blocks after a window during which its payloads are uploaded (then aggregated).
	pub const RevealBlocks: BlockNumber = 3;
	/// Miners whose updates form a window's aggregate.
	pub const AggregationSize: u32 = 32;
	/// Weight of a new verdict in the incentive EMA.
	pub const IncentiveAlpha: Perbill = Perbill::from_percent(10);
	/// A miner stays in the aggregation set while its weight is at least a tenth of the best.
	pub const AggregationWeightFloor: Perbill = Perbill::from_percent(10);
	/// A verdict's inclusion list and θ hash bind with more than two thirds of the submitting
	/// stake behind them.
	pub const BindingThreshold: Perbill = Perbill::from_parts(666_666_667);
	/// Unbonded stake is released three windows later: a bond that gave a permit stays held
	/// past that window's verdict.
	pub const UnbondingPeriod: BlockNumber = 30;
	/// A newcomer cannot be evicted from a full peer set for four windows.
	pub const ImmunityPeriod: BlockNumber = 40;
}

impl pallet_training::Config for Runtime {
	type WindowLength = WindowLength;
	type RetainWindows = RetainWindows;
	type MaxPeers = MaxPeers;
	type MaxPayloadLen = MaxPayloadLen;
	type SeedSource = pallet_training::ParentHashSeed<Runtime>;
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type PeerDeposit = PeerDeposit;
	type DeregisterCooldown = DeregisterCooldown;
	type Stake = pallet_training::HeldStake<Runtime>;
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
	type Rewards = pallet_training::Mint<Balances, pallet_training::GovernedEmission<Runtime>>;
	type EmissionPerWindow = EmissionPerWindow;
	type MaxEmissionPerWindow = MaxEmissionPerWindow;
	type AdminOrigin = frame_system::EnsureRoot<AccountId>;
	type MinersShare = MinersShare;
	type ValidatorsShare = ValidatorsShare;
	type RewardsOwner = SudoKey;
	type AgreementAlpha = AgreementAlpha;
	type WeightInfo = pallet_training::weights::SubstrateWeight<Runtime>;
}

#[cfg(test)]
mod tests {
	use super::*;
	use frame_support::dispatch::DispatchClass;
	use pallet_training::WeightInfo;

	#[test]
	fn a_full_window_of_commitments_fits_in_a_tenth_of_a_block() {
		let weights = RuntimeBlockWeights::get();
		let block = weights.max_block;
		let per_commit = pallet_training::weights::SubstrateWeight::<Runtime>::commit_gradient()
			.saturating_add(weights.get(DispatchClass::Normal).base_extrinsic);
		let all = per_commit.saturating_mul(u64::from(MaxPeers::get()));
		println!(
			"{} commit_gradient calls: {:.1} ms of a {:.0} ms block ({:.1}%), proof {} bytes",
			MaxPeers::get(),
			all.ref_time() as f64 / 1e9,
			block.ref_time() as f64 / 1e9,
			100.0 * all.ref_time() as f64 / block.ref_time() as f64,
			all.proof_size()
		);
		assert!(
			all.ref_time() * 10 <= block.ref_time(),
			"{} commits take {} of {} ps",
			MaxPeers::get(),
			all.ref_time(),
			block.ref_time()
		);
	}

	/// Issue 20 item 6: the block that publishes a verdict also pays every peer; its
	/// `on_initialize`, charged for every validator's submission and every peer paid, stays within
	/// half a block's time, leaving room for that block's commitments. (This solo chain sets no
	/// proof-size limit; the proof is printed.)
	#[test]
	fn closing_a_scoring_period_and_paying_every_peer_fits_in_half_a_block() {
		let block = RuntimeBlockWeights::get().max_block;
		let validators = MaxValidators::get();
		// Charged as the hook charges it: for every peer (PeerCount, at most MaxPeers).
		let close =
			pallet_training::weights::SubstrateWeight::<Runtime>::on_initialize_close_scoring(
				validators,
				MaxPeers::get(),
			);
		println!(
			"closing a scoring period with {validators} validators, charged for {} peers: {:.1} ms \
			 of a {:.0} ms block ({:.1}%), proof {} bytes",
			MaxPeers::get(),
			close.ref_time() as f64 / 1e9,
			block.ref_time() as f64 / 1e9,
			100.0 * close.ref_time() as f64 / block.ref_time() as f64,
			close.proof_size(),
		);
		assert!(close.ref_time() * 2 <= block.ref_time());
	}
}
