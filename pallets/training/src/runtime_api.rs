//! The runtime API auditors and clients call for a window's history (see [`crate::history`]).

use crate::{WindowIndex, history::WindowReport};
use alloc::vec::Vec;
use codec::Codec;
use sp_core::H256;
use sp_runtime::Perbill;

sp_api::decl_runtime_apis! {
	/// Training history: verdicts, score histories and aggregation sets.
	pub trait TrainingApi<AccountId> where AccountId: Codec {
		/// The verdict of `window`, if retained and published.
		fn window_report(window: WindowIndex) -> Option<WindowReport<AccountId>>;
		/// `peer`'s verdicts over `from..=to` (retained windows only), oldest first.
		fn peer_scores(peer: AccountId, from: WindowIndex, to: WindowIndex) -> Vec<(WindowIndex, Perbill)>;
		/// `window`'s aggregation set and, once published, its θ_{w+1} hash.
		fn aggregation(window: WindowIndex) -> (Vec<AccountId>, Option<H256>);
	}
}
