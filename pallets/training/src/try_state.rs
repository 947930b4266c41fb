//! The pallet's storage invariants, checked by `try_state` and after every unit test.

use crate::{pallet::*, *};
use frame_support::{pallet_prelude::*, traits::fungible::InspectHold};
use sp_runtime::traits::Zero;

impl<T: Config> Pallet<T> {
	/// The pallet's storage invariants; checked by `try_state` and after every unit test.
	#[cfg(any(feature = "try-runtime", test))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		let peers = Peers::<T>::iter().count() as u32;
		ensure!(peers == PeerCount::<T>::get(), "PeerCount differs from the number of peers");
		ensure!(peers <= T::MaxPeers::get(), "more peers than MaxPeers");
		let next = NextPeerIndex::<T>::get();
		let mut seen = alloc::collections::BTreeSet::new();
		for (who, info) in Peers::<T>::iter() {
			ensure!(info.index < next, "peer index not below NextPeerIndex");
			ensure!(seen.insert(info.index), "two peers share a registration index");
			ensure!(location::validate(&info.location).is_ok(), "invalid stored location");
			let held = T::Currency::balance_on_hold(&HoldReason::PeerDeposit.into(), &who);
			ensure!(held == info.deposit, "held deposit differs from the recorded one");
		}

		if let Some(run) = Run::<T>::get() {
			ensure!(run.problem(Self::manifest_limits()).is_none(), "unusable run manifest");
		}

		let params = Self::params();
		ensure!(Self::parameter_problem(&params).is_none(), "parameters in force out of bounds");
		if let Some(pending) = PendingParameters::<T>::get() {
			ensure!(
				Self::check_next_parameters(&pending).is_ok(),
				"pending parameters out of bounds"
			);
		}

		let current = CurrentWindow::<T>::get();
		let schedule = WindowSchedule::<T>::get();
		let now = frame_system::Pallet::<T>::block_number();
		if !now.is_zero() {
			ensure!(schedule.next_open > now, "the next window's opening is behind the chain");
			ensure!(
				schedule.closing.is_none_or(|(_, at)| at > now),
				"a scoring close is behind the chain"
			);
		}
		if let Some(open) = Windows::<T>::get(current) {
			ensure!(
				schedule.next_open == open.end(),
				"the next window does not open where this ends"
			);
			ensure!(
				open.length == params.window_length,
				"the open window's length is not in force"
			);
			ensure!(
				open.score_deadline_blocks == params.score_deadline_blocks
					&& open.reveal_blocks == params.reveal_blocks,
				"the open window's periods are not in force"
			);
			if let Some(prev) = current.checked_sub(1).and_then(Windows::<T>::get) {
				ensure!(prev.end() == open.start_block, "a gap or overlap between windows");
				ensure!(
					prev.score_deadline() <= open.end(),
					"a window's verdict comes after the next window's end"
				);
			}
		} else {
			ensure!(current == 0, "open window has no WindowInfo");
			ensure!(schedule.closing.is_none(), "a scoring period before any window");
		}
		// A window opened before a run with a shorter retention started is pruned by the
		// runtime's (lifecycle.rs): the runtime's bounds every window.
		let retain = WindowIndex::from(T::RetainWindows::get());
		for (w, _) in Windows::<T>::iter() {
			ensure!(w <= current, "a window beyond the current one is recorded");
			ensure!(w.saturating_add(retain) > current, "a window past retention is recorded");
		}

		for (w, _) in WindowValidators::<T>::iter() {
			ensure!(Windows::<T>::contains_key(w), "permits for an unrecorded window");
		}
		for (w, _) in AggregationSets::<T>::iter() {
			ensure!(Windows::<T>::contains_key(w), "aggregation set of an unrecorded window");
		}
		for (w, _) in Verdicts::<T>::iter() {
			ensure!(Windows::<T>::contains_key(w), "verdict of an unrecorded window");
		}
		for (w, validator, _) in Submissions::<T>::iter() {
			ensure!(Windows::<T>::contains_key(w), "submission for an unrecorded window");
			ensure!(
				WindowValidators::<T>::get(w).contains(&validator),
				"submission from a validator without a permit"
			);
		}

		for (w, _, c) in Commitments::<T>::iter() {
			ensure!(w <= current, "commitment for a window that has not opened");
			ensure!(Windows::<T>::contains_key(w), "commitment for an unrecorded window");
			ensure!(
				c.payload_len > 0 && c.payload_len <= T::MaxPayloadLen::get(),
				"commitment length out of bounds"
			);
		}
		for (who, unbonding) in UnbondingStake::<T>::iter() {
			ensure!(Peers::<T>::contains_key(&who), "unbonding stake of an unknown peer");
			let held = T::Currency::balance_on_hold(&HoldReason::ValidatorStake.into(), &who);
			ensure!(unbonding.amount <= held, "more unbonding than held");
		}
		for (w, validator, _) in PermitStakes::<T>::iter() {
			ensure!(
				WindowValidators::<T>::get(w).contains(&validator),
				"permit stake of a validator without a permit"
			);
		}
		for (w, verdict) in Verdicts::<T>::iter() {
			ensure!(
				verdict.binding || (verdict.inclusion.is_empty() && verdict.theta_hash.is_zero()),
				"a verdict that does not bind records a list"
			);
			ensure!(w < current, "verdict of a window still open");
		}
		for (who, _) in Agreement::<T>::iter() {
			ensure!(Peers::<T>::contains_key(&who), "agreement of an account that is not a peer");
		}
		for (w, _, _) in Earnings::<T>::iter() {
			ensure!(Windows::<T>::contains_key(w), "earnings of an unrecorded window");
		}
		let kept = CheckpointWindows::<T>::get();
		ensure!(kept.windows(2).all(|w| w[0] < w[1]), "checkpoint windows out of order");
		ensure!(
			kept.len() as u32 <= Run::<T>::get().map_or(0, |r| r.history.checkpoints_kept),
			"more checkpoints than the run keeps"
		);
		for (w, record) in Checkpoints::<T>::iter() {
			ensure!(kept.contains(&w), "a checkpoint record outside CheckpointWindows");
			ensure!(!record.copies.is_empty(), "a checkpoint record without a copy");
		}
		ensure!(
			kept.iter().all(Checkpoints::<T>::contains_key),
			"a kept checkpoint window without a record"
		);
		Ok(())
	}
}
