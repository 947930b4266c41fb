//! Calls and queries of `pallet-training` used by miners and tests.

use super::{AccountId, Client, TesseraConfig, runtime, tx};
use subxt::{extrinsics::ExtrinsicEvents, utils::H256};
use subxt_signer::sr25519::Keypair;

/// A commitment as stored on chain.
pub type Commitment = runtime::runtime_types::pallet_training::types::Commitment<u32>;

/// Commits `(payload_hash, payload_len)` for `window` and waits for finalization.
pub async fn commit_gradient(
	client: &Client,
	signer: &Keypair,
	window: u64,
	payload_hash: H256,
	payload_len: u32,
) -> Result<ExtrinsicEvents<TesseraConfig>, tx::TxError> {
	let call =
		runtime::transactions().training().commit_gradient(window, payload_hash, payload_len);
	tx::submit_and_finalize(client, &call, signer).await
}

/// The commitment of `who` for `window` at the latest finalized block, if any.
pub async fn commitment(
	client: &Client,
	window: u64,
	who: &AccountId,
) -> Result<Option<Commitment>, super::ChainError> {
	let at =
		client.at_current_block().await.map_err(|e| super::ChainError::Query(e.to_string()))?;
	let value = at
		.storage()
		.try_fetch(runtime::storage().training().commitments(), (window, *who))
		.await
		.map_err(|e| super::ChainError::Query(e.to_string()))?;
	value.map(|v| v.decode().map_err(|e| super::ChainError::Query(e.to_string()))).transpose()
}
