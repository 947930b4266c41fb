//! Answers for auditors (DESIGN.md §3 "History"): the verdict of a window, a peer's scores over a
//! range of windows, and a window's aggregation set with the θ hash its verdict recorded. Served
//! both as view functions and through [`crate::runtime_api::TrainingApi`].

use crate::{AggregationSets, Config, CurrentWindow, Pallet, Verdicts, WindowIndex};
use alloc::vec::Vec;
use codec::{Decode, Encode};
use frame_support::traits::Get;
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::Perbill;

/// A window's verdict in plain types (for the runtime API).
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct WindowReport<AccountId> {
	/// The window.
	pub window: WindowIndex,
	/// Stake-weighted median score of every evaluated peer, sorted by account.
	pub scores: Vec<(AccountId, Perbill)>,
	/// The window's aggregation set, fixed when it opened.
	pub aggregation_set: Vec<AccountId>,
	/// The members whose updates were applied, per the verdict.
	pub inclusion: Vec<AccountId>,
	/// Hash of θ_{w+1}, per the verdict.
	pub theta_hash: H256,
	/// Validators whose submissions counted.
	pub validators: u32,
}

impl<T: Config> Pallet<T> {
	/// The verdict of window `w`, if it is retained and its scoring period has closed.
	pub fn window_report(w: WindowIndex) -> Option<WindowReport<T::AccountId>> {
		let verdict = Verdicts::<T>::get(w)?;
		Some(WindowReport {
			window: w,
			scores: verdict.scores.into_inner(),
			aggregation_set: AggregationSets::<T>::get(w).into_inner(),
			inclusion: verdict.inclusion.into_inner(),
			theta_hash: verdict.theta_hash,
			validators: verdict.validators,
		})
	}

	/// `peer`'s verdicts for the retained windows in `from..=to`, oldest first; windows where it
	/// was not scored are left out. At most `RetainWindows` windows are read.
	pub fn peer_scores(
		peer: &T::AccountId,
		from: WindowIndex,
		to: WindowIndex,
	) -> Vec<(WindowIndex, Perbill)> {
		let current = CurrentWindow::<T>::get();
		let oldest =
			current.saturating_sub(WindowIndex::from(T::RetainWindows::get())).saturating_add(1);
		let (from, to) = (from.max(oldest), to.min(current));
		(from..=to)
			.filter_map(|w| {
				let verdict = Verdicts::<T>::get(w)?;
				let i = verdict.scores.binary_search_by(|(p, _)| p.cmp(peer)).ok()?;
				Some((w, verdict.scores[i].1))
			})
			.collect()
	}

	/// Window `w`'s aggregation set and, once its verdict is out, the recorded θ_{w+1} hash.
	pub fn aggregation(w: WindowIndex) -> (Vec<T::AccountId>, Option<H256>) {
		(AggregationSets::<T>::get(w).into_inner(), Verdicts::<T>::get(w).map(|v| v.theta_hash))
	}
}
