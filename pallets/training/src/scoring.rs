//! A window's scoring period: when results are accepted, what an inclusion list must be, and the
//! verdict published when the period closes (stake-weighted median scores, the inclusion list and
//! θ hash backed by the most stake, incentive weights moved by an EMA).

use crate::{pallet::*, *};
use alloc::vec::Vec;
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;
use sp_core::H256;
use sp_runtime::{Perbill, traits::UniqueSaturatedInto};

impl<T: Config> Pallet<T> {
	/// Whether `now` lies in window `w`'s scoring period: from the window's end for its
	/// `score_deadline_blocks` (the timing it opened with).
	pub(crate) fn ensure_scoring_period(w: WindowIndex, now: BlockNumberFor<T>) -> DispatchResult {
		let current = CurrentWindow::<T>::get();
		ensure!(w >= 1 && w < current, Error::<T>::ScoringNotStarted);
		// Pruned (long closed) when its record is gone.
		let info = Windows::<T>::get(w).ok_or(Error::<T>::ScoringClosed)?;
		ensure!(now >= info.end(), Error::<T>::ScoringNotStarted);
		ensure!(now < info.score_deadline(), Error::<T>::ScoringClosed);
		Ok(())
	}

	/// `inclusion` must be a subsequence of `set` (members, no repeats, set order).
	pub(crate) fn ensure_subsequence(
		inclusion: &[T::AccountId],
		set: &[T::AccountId],
	) -> DispatchResult {
		let mut rest = set.iter();
		for member in inclusion {
			ensure!(rest.any(|m| m == member), Error::<T>::NotInAggregationSet);
		}
		Ok(())
	}

	/// Closes the scoring period that ends at block `n`, if one does (`schedule.closing`):
	/// stores the verdict and moves incentive weights. Work bounded by
	/// `MaxValidators × MaxPeers`.
	pub(crate) fn close_scoring(
		n: BlockNumberFor<T>,
		schedule: Schedule<BlockNumberFor<T>>,
	) -> Weight {
		let Some((w, _)) = schedule.closing.filter(|&(w, at)| w >= 1 && at <= n) else {
			return Weight::zero();
		};
		// Closed once: `<=` only makes a schedule left behind close late rather than never.
		WindowSchedule::<T>::put(Schedule { closing: None, ..schedule });
		let (submissions, _) = Self::publish_verdict(w);
		// Every miner's incentive weight is read and written, scored or not: charged as if
		// every peer had a verdict (the benchmark's worst case for this many peers).
		T::WeightInfo::on_initialize_close_scoring(submissions, PeerCount::<T>::get())
	}

	/// The stake a submission of `validator` for window `w` counts with: its stake when `w`
	/// opened or now, whichever is smaller (stake bonded after the permit buys nothing), and
	/// nothing once it is leaving or gone.
	pub(crate) fn counted_stake(w: WindowIndex, validator: &T::AccountId) -> u128 {
		if Peers::<T>::get(validator).is_none_or(|p| p.leaving_at.is_some()) {
			return 0;
		}
		let now: u128 = T::Stake::stake_of(validator).unique_saturated_into();
		match PermitStakes::<T>::get(w, validator) {
			Some(at_open) => now.min(at_open.unique_saturated_into()),
			// A window opened before permit stakes were recorded (storage version 1).
			None => now,
		}
	}

	/// The verdict of window `w` from its submissions. Returns (submissions read, peers with a
	/// verdict).
	///
	/// Every submitting validator's stake counts for every peer any of them scored: a validator
	/// that left a peer out scores it 0. So a minority cannot decide the scores of peers the
	/// others leave out (fake miners that never commit). The inclusion list and θ hash bind only
	/// with more than `BindingThreshold` of the counted stake behind them.
	pub(crate) fn publish_verdict(w: WindowIndex) -> (u32, u32) {
		use alloc::collections::BTreeMap;
		let submissions: Vec<(T::AccountId, Submission<T>)> =
			Submissions::<T>::iter_prefix(w).collect();
		let mut scores: BTreeMap<T::AccountId, Vec<(Perbill, u128)>> = BTreeMap::new();
		let mut lists: BTreeMap<(Vec<T::AccountId>, H256), u128> = BTreeMap::new();
		let mut total = 0u128;
		let mut validators = 0u32;
		let mut counted = Vec::with_capacity(submissions.len());
		for (validator, submission) in &submissions {
			let stake = Self::counted_stake(w, validator);
			if stake == 0 {
				continue;
			}
			counted.push(rewards::Counted::<T> { validator, stake, submission });
			total = total.saturating_add(stake);
			validators = validators.saturating_add(1);
			for r in submission.results.iter() {
				scores.entry(r.peer.clone()).or_default().push((r.final_score, stake));
			}
			let key = (submission.inclusion.to_vec(), submission.theta_hash);
			let backing = lists.entry(key).or_default();
			*backing = backing.saturating_add(stake);
		}
		let verdicts: Vec<(T::AccountId, Perbill)> = scores
			.into_iter()
			.filter_map(|(peer, mut entries)| {
				// The validators that did not list the peer: a score of 0 with their stake.
				let listed = entries.iter().fold(0u128, |acc, &(_, s)| acc.saturating_add(s));
				let silent = total.saturating_sub(listed);
				if silent > 0 {
					entries.push((Perbill::zero(), silent));
				}
				consensus::stake_weighted_median(&mut entries).map(|m| (peer, m))
			})
			.collect();
		// The list with the most stake; ties to the smallest (list, hash).
		let best = lists.into_iter().fold(
			None::<((Vec<T::AccountId>, H256), u128)>,
			|best, (key, stake)| match best {
				Some((_, s)) if s >= stake => best,
				_ => Some((key, stake)),
			},
		);
		let backed = best.as_ref().map_or(0, |(_, stake)| *stake);
		let backing =
			if total == 0 { Perbill::zero() } else { Perbill::from_rational(backed, total) };
		let binding = consensus::binds(backed, total, T::BindingThreshold::get());
		let (inclusion, theta_hash) = match best {
			Some((key, _)) if binding => key,
			_ => (Vec::new(), H256::zero()),
		};

		// Every miner's weight moves towards its verdict (0 without one).
		let alpha = Self::params().incentive_alpha;
		for (who, peer) in Peers::<T>::iter() {
			if peer.role != Role::Miner {
				continue;
			}
			let sample = verdicts
				.binary_search_by(|(p, _)| p.cmp(&who))
				.map(|i| verdicts[i].1)
				.unwrap_or_else(|_| Perbill::zero());
			IncentiveWeights::<T>::mutate(&who, |weight| {
				*weight = consensus::ema(*weight, sample, alpha)
			});
		}

		Self::pay_window(w, &verdicts, &counted, binding.then_some(theta_hash));

		// Too few updates bound: every peer leaves θ as it was (a null round).
		let min_updates = Run::<T>::get().map_or(1, |run| run.outer.min_updates);
		if binding && (inclusion.len() as u32) < min_updates {
			Self::deposit_event(Event::NullRound { window: w, updates: inclusion.len() as u32 });
		}

		let peers = verdicts.len() as u32;
		let read = submissions.len() as u32;
		let verdict = Verdict::<T> {
			scores: BoundedVec::truncate_from(verdicts),
			inclusion: BoundedVec::truncate_from(inclusion),
			theta_hash,
			validators,
			backing,
			binding,
		};
		Verdicts::<T>::insert(w, verdict);
		Self::deposit_event(Event::GauntletPublished {
			window: w,
			validators,
			peers,
			theta_hash,
			binding,
		});
		(read, peers)
	}
}
