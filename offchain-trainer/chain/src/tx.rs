//! Submitting signed transactions and turning their outcome into typed results: a runtime
//! rejection comes back as [`TxError::Rejected`] with the pallet and error names.

use super::{Client, TesseraConfig};
use subxt::{
	error::{
		DispatchError, TransactionEventsError, TransactionFinalizedSuccessError,
		TransactionProgressError, TransactionStatusError,
	},
	extrinsics::ExtrinsicEvents,
	transactions::{Payload, TransactionStatus},
};
use subxt_signer::sr25519::Keypair;

/// Why a transaction did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
	/// The runtime dispatched the call and it failed with a pallet error.
	#[error("rejected by {pallet}: {error}")]
	Rejected {
		/// Pallet name, e.g. `Training`.
		pallet: String,
		/// Error variant, e.g. `WindowClosed`.
		error: String,
	},
	/// The call failed with a non-pallet dispatch error (bad origin, token error, …).
	#[error("dispatch failed: {0}")]
	Dispatch(String),
	/// The transaction could not be built, submitted, or followed to finalization.
	#[error("transaction not finalized: {0}")]
	Submission(String),
	/// The transaction was not finalized within [`FINALIZATION_TIMEOUT`]: the node stalled, or
	/// dropped it without saying so. It may still be included later.
	#[error("transaction not finalized within {0:?}")]
	TimedOut(std::time::Duration),
	/// The node said nothing about the transaction for this long ([`set_silence_limit`]). It
	/// may still be included, through this node or another.
	#[error("the node said nothing about the transaction for {0:?}")]
	Silent(std::time::Duration),
}

/// The longest a node may say nothing about a transaction being followed, in milliseconds.
static SILENCE_MS: std::sync::atomic::AtomicU64 =
	std::sync::atomic::AtomicU64::new(crate::endpoints::DEFAULT_STALL.as_millis() as u64);

/// Sets the longest a node may say nothing about a transaction being followed (a peer's
/// `--stall-after`; [`crate::endpoints::DEFAULT_STALL`] until set), for the whole process.
pub fn set_silence_limit(limit: std::time::Duration) {
	let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX).max(1);
	SILENCE_MS.store(ms, std::sync::atomic::Ordering::Relaxed);
}

fn silence_limit() -> std::time::Duration {
	std::time::Duration::from_millis(SILENCE_MS.load(std::sync::atomic::Ordering::Relaxed))
}

/// The longest a transaction is followed to finalization. Generous (a healthy chain finalizes
/// in a few blocks), but a bound: a stalled node must not hold a peer's loop forever. The
/// protocol machines plan with the measured time of each transaction, not with this.
pub const FINALIZATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// Transaction parameters (nonce, tip, mortality) of our chain.
pub type TxParams = <<TesseraConfig as subxt::Config>::TransactionExtensions as subxt::config::TransactionExtensions<TesseraConfig>>::Params;

/// Signs `call` with `signer`, submits it, and waits until its block is finalized, at most
/// [`FINALIZATION_TIMEOUT`] ([`submit_and_follow`] without the time it entered the pool).
pub async fn submit_and_finalize<Call: Payload>(
	client: &Client,
	call: &Call,
	signer: &Keypair,
) -> Result<ExtrinsicEvents<TesseraConfig>, TxError> {
	submit_and_follow(client, call, signer).await.outcome
}

/// A transaction followed to finalization, and when the node's pool took it.
#[derive(Debug)]
pub struct Followed {
	/// The outcome: its events once finalized, or why not.
	pub outcome: Result<ExtrinsicEvents<TesseraConfig>, TxError>,
	/// When the node reported the transaction validated into its pool; `None` when it never
	/// said so. A transaction of ours in the pool by the time a block is authored is included
	/// in it (its nonce is the next one), so that is what a deadline "in block B" has to plan
	/// for, not the wait for that block or its finalization.
	pub pooled_at: Option<std::time::Instant>,
	/// When the node first reported it in a block (best or finalized); `None` if never.
	pub included_at: Option<std::time::Instant>,
}

impl Followed {
	/// When the transaction was first known to be in the node's hands: pooled, or else
	/// included (a node that said nothing before the block).
	pub fn taken_at(&self) -> Option<std::time::Instant> {
		self.pooled_at.or(self.included_at)
	}

	/// How long after `since` the node took the transaction ([`Self::taken_at`]); up to now
	/// when it never did. What the protocol machines plan a transaction's deadline with.
	pub fn taken_since(&self, since: std::time::Instant) -> std::time::Duration {
		self.taken_at().unwrap_or_else(std::time::Instant::now).saturating_duration_since(since)
	}
}

/// Signs `call` with `signer`, submits it, and follows it until its block is finalized, at
/// most [`FINALIZATION_TIMEOUT`].
///
/// A mortal transaction names the block it was built at; a node whose transaction pool has not
/// caught up with that block yet refuses it as "ancient birth block" (seen once in CI, at a
/// peer's registration two blocks into a chain). Such a transaction was never included, so it
/// is built again at the then current block and resubmitted, up to [`BIRTH_ATTEMPTS`] times.
pub async fn submit_and_follow<Call: Payload>(
	client: &Client,
	call: &Call,
	signer: &Keypair,
) -> Followed {
	let mut attempt = 1;
	loop {
		let params = subxt::config::DefaultExtrinsicParamsBuilder::<TesseraConfig>::new().build();
		let followed =
			submit_and_follow_with(client, call, signer, params, FINALIZATION_TIMEOUT).await;
		match &followed.outcome {
			Err(TxError::Submission(message))
				if attempt < BIRTH_ATTEMPTS && refused_for_birth_block(message) =>
			{
				tracing::warn!(
					attempt,
					%message,
					"the node refused the transaction's birth block; building it again"
				);
				attempt += 1;
			},
			_ => return followed,
		}
	}
}

/// Submissions of one transaction when the node refuses it for its birth block.
const BIRTH_ATTEMPTS: u32 = 3;

/// [`submit_and_follow`] (once) with explicit transaction parameters and finalization
/// deadline: the first status that says the node validated the transaction into its pool
/// marks [`Followed::pooled_at`], the first that says it is in a block
/// [`Followed::included_at`]; a finalized block ends it with the events. (The node's
/// `transactionWatch` reports a transaction held for a nonce still to come as validated too; a
/// peer's own transactions are sent in nonce order, so theirs are ready.)
pub async fn submit_and_follow_with<Call: Payload>(
	client: &Client,
	call: &Call,
	signer: &Keypair,
	params: TxParams,
	timeout: std::time::Duration,
) -> Followed {
	let (mut pooled_at, mut included_at) = (None, None);
	let silence = silence_limit();
	let outcome = async {
		let submitted = async {
			let mut txs = client.tx().await.map_err(|e| TxError::Submission(e.to_string()))?;
			txs.sign_and_submit_then_watch(call, signer, params)
				.await
				.map_err(|e| TxError::Submission(e.to_string()))
		};
		let mut progress = tokio::time::timeout(silence, submitted)
			.await
			.map_err(|_| TxError::Silent(silence))??;
		let finalized = async {
			loop {
				// A node silent this long about the transaction is taken for gone: the caller
				// learns the outcome is unknown (it may still be included).
				let Ok(next) = tokio::time::timeout(silence, progress.next()).await else {
					return Err(TxError::Silent(silence));
				};
				let Some(status) = next else { break };
				let status = status.map_err(|e| classify(e.into()))?;
				match status {
					TransactionStatus::Validated | TransactionStatus::Broadcasted => {
						pooled_at.get_or_insert_with(std::time::Instant::now);
					},
					TransactionStatus::InBestBlock(_) => {
						included_at.get_or_insert_with(std::time::Instant::now);
					},
					TransactionStatus::NoLongerInBestBlock => {},
					TransactionStatus::InFinalizedBlock(block) => {
						included_at.get_or_insert_with(std::time::Instant::now);
						return block.wait_for_success().await.map_err(|e| classify(e.into()));
					},
					TransactionStatus::Error { message } => {
						return Err(status_error(TransactionStatusError::Error(message)));
					},
					TransactionStatus::Invalid { message } => {
						return Err(status_error(TransactionStatusError::Invalid(message)));
					},
					TransactionStatus::Dropped { message } => {
						return Err(status_error(TransactionStatusError::Dropped(message)));
					},
				}
			}
			Err(classify(TransactionProgressError::UnexpectedEndOfTransactionStatusStream.into()))
		};
		tokio::time::timeout(timeout, finalized).await.map_err(|_| TxError::TimedOut(timeout))?
	}
	.await;
	Followed { outcome, pooled_at, included_at }
}

/// A status that ends the transaction's progress short of a block.
fn status_error(e: TransactionStatusError) -> TxError {
	classify(TransactionProgressError::from(e).into())
}

/// Whether a submission error is the node refusing a mortal transaction's birth block
/// (`InvalidTransaction::AncientBirthBlock`).
fn refused_for_birth_block(message: &str) -> bool {
	message.contains("ancient birth block")
}

fn classify(e: TransactionFinalizedSuccessError) -> TxError {
	match e {
		TransactionFinalizedSuccessError::SuccessError(
			TransactionEventsError::ExtrinsicFailed(DispatchError::Module(module)),
		) => match module.details() {
			Ok(details) => TxError::Rejected {
				pallet: details.pallet.name().to_string(),
				error: details.variant.name.clone(),
			},
			Err(_) => TxError::Dispatch(module.details_string()),
		},
		TransactionFinalizedSuccessError::SuccessError(
			TransactionEventsError::ExtrinsicFailed(other),
		) => TxError::Dispatch(other.to_string()),
		other => TxError::Submission(other.to_string()),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn only_a_refused_birth_block_is_submitted_again() {
		let seen = "Could not finalize the transaction: Error during transaction progress: The \
		            transaction is not valid: Invalid transaction: Transaction has an ancient \
		            birth block";
		assert!(refused_for_birth_block(seen));
		for other in ["Invalid transaction: Transaction is outdated", "Inability to pay some fees"]
		{
			assert!(!refused_for_birth_block(other), "{other}");
		}
	}
}
