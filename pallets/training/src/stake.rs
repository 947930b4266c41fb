//! Stake this pallet holds (`HoldReason::ValidatorStake`): what counts ([`Pallet::bonded_stake`]:
//! held minus unbonding), unbonding with a delay, withdrawing it, and removing a peer with
//! everything it holds (leaving, or evicted).

use crate::{pallet::*, *};
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{InspectHold, MutateHold},
		tokens::Precision,
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
	/// Stake of `who` that counts: held, less what is unbonding.
	pub fn bonded_stake(who: &T::AccountId) -> BalanceOf<T> {
		let held = T::Currency::balance_on_hold(&HoldReason::ValidatorStake.into(), who);
		let unbonding = UnbondingStake::<T>::get(who).map_or_else(Zero::zero, |u| u.amount);
		held.saturating_sub(unbonding)
	}

	/// Starts unbonding `amount` of `who`'s bonded stake.
	pub(crate) fn do_unbond(who: T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		ensure!(Self::bonded_stake(&who) >= amount, Error::<T>::InsufficientStake);
		let now = frame_system::Pallet::<T>::block_number();
		let unlock_at = now.saturating_add(Self::params().unbonding_period);
		UnbondingStake::<T>::mutate(&who, |u| {
			let before = u.map_or_else(Zero::zero, |u| u.amount);
			*u = Some(Unbonding { amount: before.saturating_add(amount), unlock_at });
		});
		Self::deposit_event(Event::UnbondingStarted { who, amount, unlock_at });
		Ok(())
	}

	/// Releases `who`'s unbonding stake once its period has passed.
	pub(crate) fn do_withdraw_unbonded(who: T::AccountId) -> DispatchResult {
		let unbonding = UnbondingStake::<T>::get(&who).ok_or(Error::<T>::NothingUnbonding)?;
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now >= unbonding.unlock_at, Error::<T>::UnbondingNotOver);
		let amount = T::Currency::release(
			&HoldReason::ValidatorStake.into(),
			&who,
			unbonding.amount,
			Precision::BestEffort,
		)?;
		UnbondingStake::<T>::remove(&who);
		Self::deposit_event(Event::StakeUnbonded { who, amount });
		Ok(())
	}

	/// A peer that left at `leaving_at` may take its stake back only after the unbonding
	/// period (its stake counted until it left) and after any unbonding it started.
	pub(crate) fn ensure_stake_free(
		who: &T::AccountId,
		leaving_at: BlockNumberFor<T>,
		now: BlockNumberFor<T>,
	) -> DispatchResult {
		let held = T::Currency::balance_on_hold(&HoldReason::ValidatorStake.into(), who);
		if held.is_zero() {
			return Ok(());
		}
		let unlocked = now >= leaving_at.saturating_add(Self::params().unbonding_period)
			&& UnbondingStake::<T>::get(who).is_none_or(|u| now >= u.unlock_at);
		ensure!(unlocked, Error::<T>::UnbondingNotOver);
		Ok(())
	}

	/// Removes `who` (recorded as `peer`) from the peers, releasing its deposit and all of its
	/// stake; returns what was released.
	pub(crate) fn remove_peer(
		who: &T::AccountId,
		peer: &PeerOf<T>,
	) -> Result<BalanceOf<T>, DispatchError> {
		let deposit = T::Currency::release(
			&HoldReason::PeerDeposit.into(),
			who,
			peer.deposit,
			Precision::BestEffort,
		)?;
		let stake_reason = HoldReason::ValidatorStake.into();
		let held = T::Currency::balance_on_hold(&stake_reason, who);
		let stake = T::Currency::release(&stake_reason, who, held, Precision::BestEffort)?;
		Peers::<T>::remove(who);
		IncentiveWeights::<T>::remove(who);
		Agreement::<T>::remove(who);
		UnbondingStake::<T>::remove(who);
		PeerCount::<T>::mutate(|c| *c = c.saturating_sub(1));
		Ok(deposit.saturating_add(stake))
	}
}
