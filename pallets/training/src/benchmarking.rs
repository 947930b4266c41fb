//! frame-benchmarking v2 benchmarks of every call and hook of `pallet-training`, each in its worst
//! case: registrations that hold funds, full result lists, a window opening that prunes a full
//! window and reads every peer, a scoring close over every validator and peer.

use super::*;
use crate::pallet::BalanceOf;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{
	BoundedVec,
	traits::{EnsureOrigin, Get, Hooks, fungible::Mutate},
};
use frame_system::{RawOrigin, pallet_prelude::BlockNumberFor};
use sp_core::H256;
use sp_runtime::{
	Perbill,
	traits::{Saturating, UniqueSaturatedInto},
};

fn location() -> StorageLocation {
	StorageLocation {
		endpoint: b"https://s3.example.org".to_vec().try_into().unwrap_or_default(),
		bucket: b"tessera".to_vec().try_into().unwrap_or_default(),
		prefix: b"bench/peer".to_vec().try_into().unwrap_or_default(),
	}
}

/// An account with enough for a deposit and a validator's stake, several times over.
fn funded<T: Config>(seed: u32) -> T::AccountId
where
	T::Currency: Mutate<T::AccountId>,
{
	let who: T::AccountId = account("peer", seed, 0);
	let amount = Pallet::<T>::params()
		.peer_deposit
		.saturating_add(Pallet::<T>::params().min_validator_stake)
		.saturating_mul(10u32.into())
		.saturating_add(1_000_000u32.into());
	T::Currency::set_balance(&who, amount);
	who
}

fn add_peer<T: Config>(seed: u32, role: Role) -> Result<T::AccountId, BenchmarkError>
where
	T::Currency: Mutate<T::AccountId>,
{
	let who = funded::<T>(seed);
	Pallet::<T>::do_register(
		who.clone(),
		role,
		location(),
		frame_system::Pallet::<T>::block_number(),
	)
	.map_err(|_| BenchmarkError::Stop("registration failed"))?;
	Ok(who)
}

fn add_validator<T: Config>(seed: u32) -> Result<T::AccountId, BenchmarkError>
where
	T::Currency: Mutate<T::AccountId>,
{
	let who = add_peer::<T>(seed, Role::Validator)?;
	Pallet::<T>::bond(
		RawOrigin::Signed(who.clone()).into(),
		Pallet::<T>::params().min_validator_stake,
	)
	.map_err(|_| BenchmarkError::Stop("bond failed"))?;
	Ok(who)
}

/// Removes every registered peer, so a benchmark can fill the registry up to `MaxPeers` whatever
/// the chain's genesis registered (the dev chain registers four).
fn clear_peers<T: Config>() {
	let _ = Peers::<T>::clear(u32::MAX, None);
	PeerCount::<T>::kill();
}

/// First block of window `w` under the parameters in force (the benchmarks change none).
fn window_start<T: Config>(w: WindowIndex) -> BlockNumberFor<T> {
	let w: BlockNumberFor<T> = w.unique_saturated_into();
	w.saturating_mul(Pallet::<T>::params().window_length)
}

/// Makes the next block the one that opens window `w`, and returns it.
fn schedule_window<T: Config>(w: WindowIndex) -> BlockNumberFor<T> {
	let start = window_start::<T>(w);
	CurrentWindow::<T>::put(w.saturating_sub(1));
	WindowSchedule::<T>::mutate(|s| s.next_open = start);
	frame_system::Pallet::<T>::set_block_number(start);
	start
}

fn run_to_window<T: Config>(w: WindowIndex) {
	let start = schedule_window::<T>(w);
	Pallet::<T>::on_initialize(start);
}

/// A valid set of parameters that differs from the one in force.
fn other_parameters<T: Config>() -> ParametersOf<T> {
	let mut p = Pallet::<T>::params();
	p.window_length = p.window_length.saturating_add(1u32.into());
	p.deregister_cooldown = p.deregister_cooldown.saturating_add(1u32.into());
	p.unbonding_period = p.unbonding_period.saturating_add(1u32.into());
	p
}

fn result<T: Config>(peer: T::AccountId) -> PeerResult<T::AccountId> {
	PeerResult {
		peer,
		loss_before_assigned: 4_000_000,
		loss_after_assigned: 3_900_000,
		loss_before_random: 4_000_000,
		loss_after_random: 3_950_000,
		gradient_score: 12_500,
		synced: true,
		rating_mu: 25_000_000,
		rating_sigma: 8_000_000,
		final_score: Perbill::from_percent(50),
		flags: Flags::default(),
	}
}

#[benchmarks(where T::Currency: Mutate<T::AccountId>)]
mod benchmarks {
	use super::*;

	/// Worst case: the peer set is full of idle peers past their immunity, so the registration
	/// scans every peer and evicts one.
	#[benchmark]
	fn register() -> Result<(), BenchmarkError> {
		clear_peers::<T>();
		for i in 0..T::MaxPeers::get() {
			add_peer::<T>(i + 1, Role::Miner)?;
		}
		let later = frame_system::Pallet::<T>::block_number()
			.saturating_add(Pallet::<T>::params().immunity_period);
		frame_system::Pallet::<T>::set_block_number(later);
		let who = funded::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), Role::Validator, location());
		assert!(Peers::<T>::contains_key(&who));
		Ok(())
	}

	#[benchmark]
	fn set_storage_location() -> Result<(), BenchmarkError> {
		let who = add_peer::<T>(0, Role::Miner)?;
		#[extrinsic_call]
		_(RawOrigin::Signed(who), location());
		Ok(())
	}

	#[benchmark]
	fn deregister() -> Result<(), BenchmarkError> {
		let who = add_peer::<T>(0, Role::Miner)?;
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(Peers::<T>::get(&who).is_some_and(|p| p.leaving_at.is_some()));
		Ok(())
	}

	/// Worst case: a validator with stake, part of it unbonding, after the unbonding period.
	#[benchmark]
	fn withdraw_deposit() -> Result<(), BenchmarkError> {
		let who = add_validator::<T>(0)?;
		Pallet::<T>::unbond(
			RawOrigin::Signed(who.clone()).into(),
			Pallet::<T>::params().min_validator_stake,
		)
		.map_err(|_| BenchmarkError::Stop("unbond failed"))?;
		Pallet::<T>::deregister(RawOrigin::Signed(who.clone()).into())
			.map_err(|_| BenchmarkError::Stop("deregister failed"))?;
		let wait =
			Pallet::<T>::params().deregister_cooldown.max(Pallet::<T>::params().unbonding_period);
		let later = frame_system::Pallet::<T>::block_number().saturating_add(wait);
		frame_system::Pallet::<T>::set_block_number(later);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Peers::<T>::contains_key(&who));
		Ok(())
	}

	#[benchmark]
	fn bond() -> Result<(), BenchmarkError> {
		let who = add_peer::<T>(0, Role::Validator)?;
		let amount: BalanceOf<T> = Pallet::<T>::params().min_validator_stake;
		#[extrinsic_call]
		_(RawOrigin::Signed(who), amount);
		Ok(())
	}

	#[benchmark]
	fn unbond() -> Result<(), BenchmarkError> {
		let who = add_validator::<T>(0)?;
		let amount: BalanceOf<T> = Pallet::<T>::params().min_validator_stake;
		#[extrinsic_call]
		_(RawOrigin::Signed(who), amount);
		Ok(())
	}

	#[benchmark]
	fn withdraw_unbonded() -> Result<(), BenchmarkError> {
		let who = add_validator::<T>(0)?;
		Pallet::<T>::unbond(
			RawOrigin::Signed(who.clone()).into(),
			Pallet::<T>::params().min_validator_stake,
		)
		.map_err(|_| BenchmarkError::Stop("unbond failed"))?;
		let later = frame_system::Pallet::<T>::block_number()
			.saturating_add(Pallet::<T>::params().unbonding_period);
		frame_system::Pallet::<T>::set_block_number(later);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!UnbondingStake::<T>::contains_key(&who));
		Ok(())
	}

	#[benchmark]
	fn commit_gradient() -> Result<(), BenchmarkError> {
		let who = add_peer::<T>(0, Role::Miner)?;
		run_to_window::<T>(1);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), 1, H256::repeat_byte(1), 1_000);
		assert!(Commitments::<T>::contains_key(1, &who));
		Ok(())
	}

	#[benchmark]
	fn start_run() -> Result<(), BenchmarkError> {
		Run::<T>::kill();
		let manifest = run::example();
		#[extrinsic_call]
		_(RawOrigin::Root, manifest.clone());
		assert_eq!(Run::<T>::get(), Some(manifest));
		Ok(())
	}

	/// The worst case: the window's record already holds a copy from every other permitted
	/// validator (`MaxValidators − 1`), so the caller's is decoded and re-encoded with all of them.
	#[benchmark]
	fn record_checkpoint() -> Result<(), BenchmarkError> {
		clear_peers::<T>();
		let validator = add_validator::<T>(0)?;
		Run::<T>::put(run::example());
		run_to_window::<T>(1);
		let theta_hash = H256::repeat_byte(5);
		Verdicts::<T>::insert(
			1,
			Verdict::<T> {
				scores: BoundedVec::new(),
				inclusion: BoundedVec::new(),
				theta_hash,
				validators: 1,
				backing: Perbill::one(),
				binding: true,
			},
		);
		let mut permitted = alloc::vec![validator.clone()];
		let mut copies = Vec::new();
		for i in 1..T::MaxValidators::get() {
			let other: T::AccountId = account("validator", i, 0);
			permitted.push(other.clone());
			copies.push(CheckpointCopy { validator: other, location: location() });
		}
		WindowValidators::<T>::insert(1, BoundedVec::truncate_from(permitted));
		Checkpoints::<T>::insert(
			1,
			CheckpointRecord::<T> { theta_hash, copies: BoundedVec::truncate_from(copies) },
		);
		CheckpointWindows::<T>::put(BoundedVec::truncate_from(alloc::vec![1]));
		#[extrinsic_call]
		_(RawOrigin::Signed(validator.clone()), 1, theta_hash);
		let record = Checkpoints::<T>::get(1).ok_or(BenchmarkError::Stop("no record"))?;
		assert_eq!(record.copies.len() as u32, T::MaxValidators::get());
		Ok(())
	}

	#[benchmark]
	fn submit_gauntlet_results(
		r: Linear<0, { T::MaxPeers::get() - 1 }>,
	) -> Result<(), BenchmarkError> {
		clear_peers::<T>();
		let validator = add_validator::<T>(0)?;
		let mut miners = Vec::new();
		for i in 0..r {
			miners.push(add_peer::<T>(i + 1, Role::Miner)?);
		}
		run_to_window::<T>(1);
		run_to_window::<T>(2);
		let results: Vec<_> = miners.iter().cloned().map(result::<T>).collect();
		let inclusion = AggregationSets::<T>::get(1).into_inner();
		#[extrinsic_call]
		_(RawOrigin::Signed(validator.clone()), 1, results, inclusion, H256::repeat_byte(2));
		assert!(Submissions::<T>::contains_key(1, &validator));
		Ok(())
	}

	#[benchmark]
	fn set_parameters() -> Result<(), BenchmarkError> {
		let parameters = other_parameters::<T>();
		let origin =
			T::AdminOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, parameters);
		assert_eq!(PendingParameters::<T>::get(), Some(parameters));
		Ok(())
	}

	#[benchmark]
	fn on_initialize_idle() {
		let n: BlockNumberFor<T> = 1u32.into();
		#[block]
		{
			Pallet::<T>::on_initialize(n);
		}
	}

	#[benchmark]
	fn on_initialize_open_window(
		p: Linear<0, { T::MaxPeers::get() }>,
		v: Linear<1, { T::MaxPeers::get() }>,
	) -> Result<(), BenchmarkError> {
		clear_peers::<T>();
		let mut peers = Vec::new();
		for i in 0..v {
			peers.push(add_peer::<T>(i, Role::Miner)?);
		}
		run_to_window::<T>(1);
		for (i, who) in peers.iter().take(p as usize).enumerate() {
			Pallet::<T>::commit_gradient(
				RawOrigin::Signed(who.clone()).into(),
				1,
				H256::repeat_byte(i as u8),
				1,
			)
			.map_err(|_| BenchmarkError::Stop("commit failed"))?;
		}
		// Window 1 also holds a submission and a permit stake from every permitted validator
		// (`MaxValidators`): pruning clears them too.
		let mut permitted = Vec::new();
		for i in 0..T::MaxValidators::get() {
			let validator: T::AccountId = account("validator", i, 0);
			let submission = Submission::<T> {
				results: BoundedVec::truncate_from(alloc::vec![result::<T>(validator.clone())]),
				inclusion: BoundedVec::new(),
				theta_hash: H256::repeat_byte(7),
				submitted_at: frame_system::Pallet::<T>::block_number(),
			};
			Submissions::<T>::insert(1, &validator, submission);
			PermitStakes::<T>::insert(1, &validator, Pallet::<T>::params().min_validator_stake);
			permitted.push(validator);
		}
		WindowValidators::<T>::insert(1, BoundedVec::truncate_from(permitted));
		// And what every peer and the owner were paid for it (MaxPeers + 1 entries).
		for i in 0..=T::MaxPeers::get() {
			let paid: T::AccountId = account("paid", i, 0);
			Earnings::<T>::insert(1, &paid, BalanceOf::<T>::from(1u32));
		}
		// The window whose opening prunes window 1.
		let w = 1 + WindowIndex::from(T::RetainWindows::get());
		// The window before it exists (its scoring deadline is read) and new parameters are
		// pending (they take effect with this opening).
		let first = Windows::<T>::get(1).ok_or(BenchmarkError::Stop("window 1 not open"))?;
		Windows::<T>::insert(w - 1, first);
		Pallet::<T>::do_set_parameters(other_parameters::<T>())
			.map_err(|_| BenchmarkError::Stop("set_parameters failed"))?;
		let start = schedule_window::<T>(w);
		#[block]
		{
			Pallet::<T>::on_initialize(start);
		}
		assert!(!Windows::<T>::contains_key(1));
		assert_eq!(Submissions::<T>::iter_prefix(1).count(), 0);
		assert_eq!(Earnings::<T>::iter_prefix(1).count(), 0);
		Ok(())
	}

	#[benchmark]
	fn on_initialize_close_scoring(
		v: Linear<1, { T::MaxValidators::get() }>,
		p: Linear<0, { T::MaxPeers::get() - T::MaxValidators::get() }>,
	) -> Result<(), BenchmarkError> {
		clear_peers::<T>();
		// A run whose verdicts are null rounds: the manifest is read and the event emitted.
		let mut manifest = run::example();
		manifest.outer.min_updates = T::AggregationSize::get();
		Run::<T>::put(manifest);
		let mut validators = Vec::new();
		for i in 0..v {
			validators.push(add_validator::<T>(i)?);
		}
		let mut miners = Vec::new();
		for i in 0..p {
			miners.push(add_peer::<T>(v + i, Role::Miner)?);
		}
		run_to_window::<T>(1);
		run_to_window::<T>(2);
		let inclusion = AggregationSets::<T>::get(1).into_inner();
		for validator in &validators {
			let results: Vec<_> = miners.iter().cloned().map(result::<T>).collect();
			Pallet::<T>::submit_gauntlet_results(
				RawOrigin::Signed(validator.clone()).into(),
				1,
				results,
				inclusion.clone(),
				H256::repeat_byte(3),
			)
			.map_err(|_| BenchmarkError::Stop("submission failed"))?;
		}
		let close = WindowSchedule::<T>::get()
			.closing
			.map(|(_, at)| at)
			.ok_or(BenchmarkError::Stop("window 1 has no scoring deadline"))?;
		frame_system::Pallet::<T>::set_block_number(close);
		#[block]
		{
			Pallet::<T>::on_initialize(close);
		}
		assert!(Verdicts::<T>::contains_key(1));
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_bench_ext(), crate::mock::Test);
}
