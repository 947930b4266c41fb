//! Registering a peer: the storage location check that every call and the genesis build share,
//! and holding the deposit ([`Pallet::do_register`]).

use crate::{pallet::*, *};
use frame_support::{pallet_prelude::*, traits::fungible::MutateHold};
use frame_system::pallet_prelude::BlockNumberFor;

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
		let count = PeerCount::<T>::get();
		ensure!(count < T::MaxPeers::get(), Error::<T>::TooManyPeers);
		let deposit = T::PeerDeposit::get();
		T::Currency::hold(&HoldReason::PeerDeposit.into(), &who, deposit)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		let index = NextPeerIndex::<T>::get();
		let peer =
			PeerInfo { index, role, location, deposit, registered_at: now, leaving_at: None };
		Peers::<T>::insert(&who, peer);
		PeerCount::<T>::put(count.saturating_add(1));
		NextPeerIndex::<T>::put(index.saturating_add(1));
		Self::deposit_event(Event::PeerRegistered { who, index, role, deposit });
		Ok(())
	}
}
