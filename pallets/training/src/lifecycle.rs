//! A window's life on chain: opening it in `on_initialize` (parameters scheduled for it, seed,
//! timing, the next opening and the previous window's scoring deadline, permits, aggregation set) and
//! pruning the windows that fall out of retention (the run's `retain_windows`, else the
//! runtime's `RetainWindows`), with work bounded by `MaxPeers`.

use crate::{pallet::*, *};
use alloc::vec::Vec;
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::Perbill;

impl<T: Config> Pallet<T> {
	/// Opens window `w` at block `start_block` and prunes the windows that fall out of
	/// retention. Returns the number of pruned commitments and of pruned windows (at most 2).
	pub(crate) fn open_window(w: WindowIndex, start_block: BlockNumberFor<T>) -> (u32, u32) {
		let p = Self::apply_pending_parameters(w);
		let seed = T::SeedSource::window_seed();
		let info = WindowInfo {
			seed,
			start_block,
			length: p.window_length,
			reveal_blocks: p.reveal_blocks,
			score_deadline_blocks: p.score_deadline_blocks,
		};
		Windows::<T>::insert(w, info);
		CurrentWindow::<T>::put(w);
		// The window that just ended is scored now, with the periods it opened with.
		let closing = w
			.checked_sub(1)
			.and_then(|prev| Windows::<T>::get(prev).map(|i| (prev, i.score_deadline())));
		WindowSchedule::<T>::put(Schedule { next_open: info.end(), closing });
		Self::deposit_event(Event::WindowOpened {
			window: w,
			seed,
			start_block,
			length: p.window_length,
		});
		Self::select_window_participants(w, p.min_validator_stake);

		// The run's retention, and the runtime's: a window opened before a run that keeps
		// less history started is pruned when the runtime's retention would have pruned it, so
		// every window is pruned exactly once and at most two per opening.
		let (mut commitments, mut windows) = (0, 0);
		for retain in [Self::retain_windows(), WindowIndex::from(T::RetainWindows::get())] {
			if let Some(old) = w.checked_sub(retain).filter(|old| *old >= 1)
				&& Windows::<T>::contains_key(old)
			{
				commitments += Self::prune_window(old);
				windows += 1;
			}
		}
		(commitments, windows)
	}

	/// Windows of history kept on chain: the run's, else the runtime's `RetainWindows`.
	pub fn retain_windows() -> WindowIndex {
		let max = T::RetainWindows::get();
		WindowIndex::from(Run::<T>::get().map_or(max, |r| r.history.retain_windows.min(max)))
	}

	/// Fixes who takes part in window `w`, from one pass over the peers (bounded by
	/// `MaxPeers`):
	/// - the validators permitted to score it: the top `MaxValidators` non-leaving validators
	///   by stake above `MinValidatorStake`;
	/// - its aggregation set: the top `AggregationSize` non-leaving miners by incentive
	///   weight, earlier registration first among equals — once any miner has weight, only
	///   those with at least `AggregationWeightFloor` of the best weight (before that,
	///   bootstrap: registration order). A miner whose updates score (next to) nothing leaves
	///   the set; a newcomer joins once verdicts score it well.
	pub(crate) fn select_window_participants(w: WindowIndex, min_stake: BalanceOf<T>) {
		let mut validators = Vec::new();
		let mut miners: Vec<(Perbill, u32, T::AccountId)> = Vec::new();
		for (who, peer) in Peers::<T>::iter().filter(|(_, peer)| peer.leaving_at.is_none()) {
			match peer.role {
				Role::Validator => validators.push(permits::Candidate {
					stake: T::Stake::stake_of(&who),
					who,
					index: peer.index,
				}),
				Role::Miner => miners.push((IncentiveWeights::<T>::get(&who), peer.index, who)),
			}
		}

		let selected = permits::select(validators, min_stake, T::MaxValidators::get() as usize);
		for (who, stake) in &selected {
			PermitStakes::<T>::insert(w, who, stake);
		}
		PermitThresholds::<T>::insert(w, min_stake);
		let validators =
			BoundedVec::truncate_from(selected.into_iter().map(|(who, _)| who).collect());
		WindowValidators::<T>::insert(w, &validators);
		Self::deposit_event(Event::ValidatorsPermitted { window: w, validators });

		let best = miners.iter().map(|(weight, _, _)| *weight).max().unwrap_or_default();
		if !best.is_zero() {
			let floor = T::AggregationWeightFloor::get() * best.deconstruct();
			miners.retain(|(weight, _, _)| !weight.is_zero() && weight.deconstruct() >= floor);
		}
		miners.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
		miners.truncate(T::AggregationSize::get() as usize);
		let members =
			BoundedVec::truncate_from(miners.into_iter().map(|(_, _, who)| who).collect());
		AggregationSets::<T>::insert(w, &members);
		Self::deposit_event(Event::AggregationSetFixed { window: w, members });
	}

	/// Removes every record of window `old`. At most `MaxPeers` commitments and
	/// `MaxValidators` submissions and permit stakes exist per window, so the work is bounded.
	pub(crate) fn prune_window(old: WindowIndex) -> u32 {
		let limit = T::MaxPeers::get();
		let commitments = Commitments::<T>::clear_prefix(old, limit, None);
		Windows::<T>::remove(old);
		WindowValidators::<T>::remove(old);
		PermitThresholds::<T>::remove(old);
		AggregationSets::<T>::remove(old);
		Verdicts::<T>::remove(old);
		let submissions = Submissions::<T>::clear_prefix(old, T::MaxValidators::get(), None);
		let stakes = PermitStakes::<T>::clear_prefix(old, T::MaxValidators::get(), None);
		// Everyone paid for the window is a peer (or the owner): at most MaxPeers + 1.
		let earnings = Earnings::<T>::clear_prefix(old, limit.saturating_add(1), None);
		if commitments.maybe_cursor.is_some()
			|| submissions.maybe_cursor.is_some()
			|| stakes.maybe_cursor.is_some()
			|| earnings.maybe_cursor.is_some()
		{
			log::error!(
				target: LOG_TARGET,
				"window {old}: more than MaxPeers={limit} records, some left unpruned"
			);
		}
		Self::deposit_event(Event::WindowPruned { window: old });
		commitments.unique
	}
}
