//! Checkpoints of θ on chain (DESIGN.md §2.6): which validators hold θ after a window in their
//! stores, and its hash. A validator records one for a window that is a multiple of the run's
//! `checkpoint_interval` and whose binding verdict holds that θ hash; the newest
//! `checkpoints_kept` windows are kept and recording a newer one drops the oldest (bounded
//! work). A joiner loads the newest, checks the hash, and replays the windows since.

use crate::{location::StorageLocation, pallet::*, *};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound, pallet_prelude::*};
use scale_info::TypeInfo;
use sp_core::H256;

/// One validator's copy of a checkpoint: the object `checkpoints/{window}.safetensors` below
/// its storage location as it was when it recorded the checkpoint.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct CheckpointCopy<AccountId> {
	/// The validator that uploaded it.
	pub validator: AccountId,
	/// Its storage location.
	pub location: StorageLocation,
}

/// A checkpoint of θ after a window.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[scale_info(skip_type_params(T))]
pub struct CheckpointRecord<T: Config> {
	/// θ's hash: the window's binding verdict's.
	pub theta_hash: H256,
	/// Where copies are, in the order they were recorded (one per permitted validator).
	pub copies: BoundedVec<CheckpointCopy<T::AccountId>, T::MaxValidators>,
}

impl<T: Config> Pallet<T> {
	/// `record_checkpoint`'s checks and effects.
	pub(crate) fn do_record_checkpoint(
		who: T::AccountId,
		window: WindowIndex,
		theta_hash: H256,
	) -> DispatchResult {
		let peer = Peers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		ensure!(peer.role == Role::Validator, Error::<T>::NotAValidator);
		let run = Run::<T>::get().ok_or(Error::<T>::RunNotStarted)?;
		let interval = WindowIndex::from(run.history.checkpoint_interval);
		ensure!(window >= 1 && window.is_multiple_of(interval), Error::<T>::NotACheckpointWindow);
		ensure!(WindowValidators::<T>::get(window).contains(&who), Error::<T>::NoPermit);
		let verdict = Verdicts::<T>::get(window).ok_or(Error::<T>::NoBindingVerdict)?;
		ensure!(verdict.binding, Error::<T>::NoBindingVerdict);
		ensure!(verdict.theta_hash == theta_hash, Error::<T>::CheckpointHashMismatch);

		let copy = CheckpointCopy { validator: who.clone(), location: peer.location };
		let mut kept = CheckpointWindows::<T>::get();
		let mut pruned = None;
		match Checkpoints::<T>::get(window) {
			Some(mut record) => {
				ensure!(
					!record.copies.iter().any(|c| c.validator == who),
					Error::<T>::CheckpointAlreadyRecorded
				);
				// One copy per permitted validator: never more than MaxValidators.
				record.copies.try_push(copy).map_err(|_| Error::<T>::NoPermit)?;
				Checkpoints::<T>::insert(window, record);
			},
			None => {
				let limit = run.history.checkpoints_kept.min(T::MaxCheckpoints::get()) as usize;
				let full = kept.len() >= limit;
				ensure!(
					!full || kept.first().is_none_or(|oldest| window > *oldest),
					Error::<T>::CheckpointTooOld
				);
				if full && !kept.is_empty() {
					let oldest = kept.remove(0);
					Checkpoints::<T>::remove(oldest);
					pruned = Some(oldest);
				}
				let at = kept.iter().position(|w| *w > window).unwrap_or(kept.len());
				kept.try_insert(at, window).map_err(|_| Error::<T>::CheckpointTooOld)?;
				let copies = BoundedVec::truncate_from(alloc::vec![copy]);
				Checkpoints::<T>::insert(window, CheckpointRecord { theta_hash, copies });
				CheckpointWindows::<T>::put(kept);
			},
		}
		if let Some(window) = pruned {
			Self::deposit_event(Event::CheckpointPruned { window });
		}
		Self::deposit_event(Event::CheckpointRecorded { window, validator: who, theta_hash });
		Ok(())
	}
}
