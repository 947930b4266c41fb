//! Registering a peer: the storage location check that every call and the genesis build share,
//! holding the deposit ([`Pallet::do_register`]), and — when the peer set is full — evicting
//! the lowest-weighted idle peer so that squatters cannot hold every slot
//! ([`Pallet::evictable`]).

use crate::{pallet::*, *};
use frame_support::{pallet_prelude::*, traits::fungible::MutateHold};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::{Perbill, traits::Saturating};

impl<T: Config> Pallet<T> {
	/// The pallet error for an invalid storage location.
	pub(crate) fn check_location(location: &StorageLocation) -> DispatchResult {
		location::validate(location).map_err(|e| match e {
			location::LocationError::InvalidEndpoint => Error::<T>::InvalidEndpoint,
			location::LocationError::EndpointHasCredentials => Error::<T>::EndpointHasCredentials,
			location::LocationError::InvalidBucket => Error::<T>::InvalidBucket,
			location::LocationError::InvalidPrefix => Error::<T>::InvalidPrefix,
		})?;
		Ok(())
	}

	/// Registers `who` as a `role` at block `now`, holding its deposit.
	pub(crate) fn do_register(
		who: T::AccountId,
		role: Role,
		location: StorageLocation,
		now: BlockNumberFor<T>,
	) -> DispatchResult {
		Self::check_location(&location)?;
		ensure!(!Peers::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
		let deposit = Self::params().peer_deposit;
		T::Currency::hold(&HoldReason::PeerDeposit.into(), &who, deposit)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		if PeerCount::<T>::get() >= T::MaxPeers::get() {
			let (evicted, peer) = Self::evictable(now).ok_or(Error::<T>::TooManyPeers)?;
			let released = Self::remove_peer(&evicted, &peer)?;
			Self::deposit_event(Event::PeerEvicted { who: evicted, released, by: who.clone() });
		}
		let count = PeerCount::<T>::get();
		let index = NextPeerIndex::<T>::get();
		let peer =
			PeerInfo { index, role, location, deposit, registered_at: now, leaving_at: None };
		Peers::<T>::insert(&who, peer);
		PeerCount::<T>::put(count.saturating_add(1));
		NextPeerIndex::<T>::put(index.saturating_add(1));
		Self::deposit_event(Event::PeerRegistered { who, index, role, deposit });
		Ok(())
	}

	/// The peer a registration evicts when the peer set is full, if any. First a peer that left
	/// and could already withdraw (cool-down and unbonding over) but did not. Otherwise, among
	/// peers registered at least `ImmunityPeriod` blocks before `now` and idle — a miner with no
	/// commitment in the current or the previous window and in neither window's aggregation set
	/// (a set member is scored in that window), a validator without a permit for either — the
	/// one with the lowest incentive weight (validators: none), earliest registration first
	/// among equals. One pass over the peers (bounded by `MaxPeers`).
	pub(crate) fn evictable(now: BlockNumberFor<T>) -> Option<(T::AccountId, PeerOf<T>)> {
		let current = CurrentWindow::<T>::get();
		let previous = current.saturating_sub(1);
		let params = Self::params();
		let permits = WindowValidators::<T>::get(current);
		let previous_permits = WindowValidators::<T>::get(previous);
		let set = AggregationSets::<T>::get(current);
		let previous_set = AggregationSets::<T>::get(previous);
		Peers::<T>::iter()
			.filter_map(|(who, peer)| {
				let gone = match peer.leaving_at {
					Some(left) => {
						let free = left.saturating_add(params.deregister_cooldown) <= now
							&& Self::ensure_stake_free(&who, left, now).is_ok();
						if !free {
							return None;
						}
						true
					},
					None => false,
				};
				if !gone {
					if peer.registered_at.saturating_add(params.immunity_period) > now {
						return None;
					}
					let idle = match peer.role {
						Role::Miner => {
							!Commitments::<T>::contains_key(current, &who)
								&& !Commitments::<T>::contains_key(previous, &who)
								&& !set.contains(&who) && !previous_set.contains(&who)
						},
						Role::Validator => {
							!permits.contains(&who) && !previous_permits.contains(&who)
						},
					};
					if !idle {
						return None;
					}
				}
				let weight = match peer.role {
					Role::Miner if !gone => IncentiveWeights::<T>::get(&who),
					_ => Perbill::zero(),
				};
				// Leaving peers first (false sorts before true).
				Some((!gone, weight, peer.index, who, peer))
			})
			.min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)))
			.map(|(_, _, _, who, peer)| (who, peer))
	}
}
