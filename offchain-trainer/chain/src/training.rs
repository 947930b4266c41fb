//! Calls and queries of `pallet-training` used by miners and tests.

use super::{AccountId, Client, TesseraConfig, runtime, tx};
use subxt::{extrinsics::ExtrinsicEvents, utils::H256};
use subxt_signer::sr25519::Keypair;

/// A commitment as stored on chain.
pub type Commitment = runtime::runtime_types::pallet_training::types::Commitment<u32>;

/// Commits `(payload_hash, payload_len)` for `window` and waits for finalization; the outcome
/// says when the commitment entered the node's pool (the miner plans its deadline with that).
pub async fn commit_gradient(
	client: &Client,
	signer: &Keypair,
	window: u64,
	payload_hash: H256,
	payload_len: u32,
) -> tx::Followed {
	let call =
		runtime::transactions().training().commit_gradient(window, payload_hash, payload_len);
	tx::submit_and_follow(client, &call, signer).await
}

/// The commitment of `who` for `window` at the latest finalized block, if any.
pub async fn commitment(
	client: &Client,
	window: u64,
	who: &AccountId,
) -> Result<Option<Commitment>, super::ChainError> {
	let at = client.at_current_block().await.map_err(super::ChainError::query)?;
	let value = at
		.storage()
		.try_fetch(runtime::storage().training().commitments(), (window, *who))
		.await
		.map_err(super::ChainError::query)?;
	value.map(|v| v.decode().map_err(super::ChainError::query)).transpose()
}

/// A peer's role, as the runtime encodes it.
pub type Role = runtime::runtime_types::pallet_training::types::Role;
/// One validator's evaluation of one peer.
pub type PeerResult = runtime::runtime_types::pallet_training::gauntlet::PeerResult<AccountId>;
/// A window's verdict, as the runtime API returns it.
pub type WindowReport = runtime::runtime_types::pallet_training::history::WindowReport<AccountId>;

/// Where a peer's payloads can be read (the storage module's type).
pub use tessera_store::Location;

fn on_chain(
	location: &Location,
) -> runtime::runtime_types::pallet_training::location::StorageLocation {
	use runtime::runtime_types::{
		bounded_collections::bounded_vec::BoundedVec, pallet_training::location::StorageLocation,
	};
	StorageLocation {
		endpoint: BoundedVec(location.endpoint.as_bytes().to_vec()),
		bucket: BoundedVec(location.bucket.as_bytes().to_vec()),
		prefix: BoundedVec(location.prefix.as_bytes().to_vec()),
	}
}

/// Registers the signer as a peer with `role` at `location`, holding the deposit.
pub async fn register(
	client: &Client,
	signer: &Keypair,
	role: Role,
	location: &Location,
) -> Result<ExtrinsicEvents<TesseraConfig>, tx::TxError> {
	let call = runtime::transactions().training().register(role, on_chain(location));
	tx::submit_and_finalize(client, &call, signer).await
}

/// Moves the signer's storage location to `location`.
pub async fn set_storage_location(
	client: &Client,
	signer: &Keypair,
	location: &Location,
) -> Result<ExtrinsicEvents<TesseraConfig>, tx::TxError> {
	let call = runtime::transactions().training().set_storage_location(on_chain(location));
	tx::submit_and_finalize(client, &call, signer).await
}

/// Bonds `amount` of stake from the signer.
pub async fn bond(
	client: &Client,
	signer: &Keypair,
	amount: u128,
) -> Result<ExtrinsicEvents<TesseraConfig>, tx::TxError> {
	let call = runtime::transactions().training().bond(amount);
	tx::submit_and_finalize(client, &call, signer).await
}

/// Starts unbonding `amount` of the signer's bonded stake.
pub async fn unbond(
	client: &Client,
	signer: &Keypair,
	amount: u128,
) -> Result<ExtrinsicEvents<TesseraConfig>, tx::TxError> {
	let call = runtime::transactions().training().unbond(amount);
	tx::submit_and_finalize(client, &call, signer).await
}

/// Releases the signer's unbonding stake once its unbonding period is over.
pub async fn withdraw_unbonded(
	client: &Client,
	signer: &Keypair,
) -> Result<ExtrinsicEvents<TesseraConfig>, tx::TxError> {
	let call = runtime::transactions().training().withdraw_unbonded();
	tx::submit_and_finalize(client, &call, signer).await
}

/// Asks to leave: the signer stops taking part; its deposit can be withdrawn after the
/// cool-down.
pub async fn deregister(
	client: &Client,
	signer: &Keypair,
) -> Result<ExtrinsicEvents<TesseraConfig>, tx::TxError> {
	let call = runtime::transactions().training().deregister();
	tx::submit_and_finalize(client, &call, signer).await
}

/// Releases the signer's deposit (and stake) after the cool-down and removes it from the peers.
pub async fn withdraw_deposit(
	client: &Client,
	signer: &Keypair,
) -> Result<ExtrinsicEvents<TesseraConfig>, tx::TxError> {
	let call = runtime::transactions().training().withdraw_deposit();
	tx::submit_and_finalize(client, &call, signer).await
}

/// Records that the signer's store holds the checkpoint of θ after `window`, hashing to
/// `theta_hash` (the window's binding verdict's).
pub async fn record_checkpoint(
	client: &Client,
	signer: &Keypair,
	window: u64,
	theta_hash: H256,
) -> Result<ExtrinsicEvents<TesseraConfig>, tx::TxError> {
	let call = runtime::transactions().training().record_checkpoint(window, theta_hash);
	tx::submit_and_finalize(client, &call, signer).await
}

/// Submits the signer's Gauntlet results for `window` and waits for finalization; the outcome
/// says when they entered the node's pool.
pub async fn submit_gauntlet_results(
	client: &Client,
	signer: &Keypair,
	window: u64,
	results: Vec<PeerResult>,
	inclusion: Vec<AccountId>,
	theta_hash: H256,
) -> tx::Followed {
	let call = runtime::transactions()
		.training()
		.submit_gauntlet_results(window, results, inclusion, theta_hash);
	tx::submit_and_follow(client, &call, signer).await
}

/// The verdict of `window` through the runtime API, at the latest finalized block.
pub async fn window_report(
	client: &Client,
	window: u64,
) -> Result<Option<WindowReport>, super::ChainError> {
	let at = client.at_current_block().await.map_err(super::ChainError::query)?;
	at.runtime_apis()
		.call(runtime::runtime_apis().training_api().window_report(window))
		.await
		.map_err(super::ChainError::query)
}

/// `peer`'s verdicts over `from..=to` through the runtime API, at the latest finalized block.
pub async fn peer_scores(
	client: &Client,
	peer: &AccountId,
	from: u64,
	to: u64,
) -> Result<Vec<(u64, u32)>, super::ChainError> {
	let at = client.at_current_block().await.map_err(super::ChainError::query)?;
	let scores = at
		.runtime_apis()
		.call(runtime::runtime_apis().training_api().peer_scores(*peer, from, to))
		.await
		.map_err(super::ChainError::query)?;
	Ok(scores.into_iter().map(|(w, p)| (w, p.0)).collect())
}
