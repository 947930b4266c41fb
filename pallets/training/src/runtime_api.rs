//! The runtime API auditors and clients call for a window's history (see [`crate::history`]),
//! an account's earnings and the governed parameters.

use crate::{RunParameters, WindowIndex, history::WindowReport};
use alloc::vec::Vec;
use codec::Codec;
use sp_core::H256;
use sp_runtime::Perbill;

sp_api::decl_runtime_apis! {
	/// Training history: verdicts, score histories, aggregation sets, earnings and parameters.
	///
	/// Version 2 added `earnings` and `parameters`.
	#[api_version(2)]
	pub trait TrainingApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// The verdict of `window`, if retained and published.
		fn window_report(window: WindowIndex) -> Option<WindowReport<AccountId>>;
		/// `peer`'s verdicts over `from..=to` (retained windows only), oldest first.
		fn peer_scores(peer: AccountId, from: WindowIndex, to: WindowIndex) -> Vec<(WindowIndex, Perbill)>;
		/// `window`'s aggregation set and, once published, its θ_{w+1} hash.
		fn aggregation(window: WindowIndex) -> (Vec<AccountId>, Option<H256>);
		/// What `who` was paid for each retained window in `from..=to` that paid it, oldest
		/// first.
		#[api_version(2)]
		fn earnings(who: AccountId, from: WindowIndex, to: WindowIndex) -> Vec<(WindowIndex, Balance)>;
		/// The governed parameters in force, and those scheduled for the next window if any.
		#[api_version(2)]
		fn parameters() -> (RunParameters<BlockNumber, Balance>, Option<RunParameters<BlockNumber, Balance>>);
	}
}
