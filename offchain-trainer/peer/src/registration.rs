//! A peer's account on chain at the start of each session, miners and validators alike:
//! registered with the storage location it runs with, or that location moved there (payloads
//! and checkpoints are recorded under the location on chain, so it must be this store).

use tessera_chain::{self as chain, AccountId, ChainError, Client, training, tx::TxError};
use tessera_store::Location;

/// Logs the connection and makes sure `account` is a peer with `role` at `location`; the open
/// window, and whether the account was newly registered.
pub(crate) async fn ensure<E: From<ChainError> + From<TxError>>(
	client: &Client,
	url: &str,
	signer: &subxt_signer::sr25519::Keypair,
	account: &AccountId,
	role: training::Role,
	location: &Location,
) -> Result<(u64, bool), E> {
	let number = chain::network::newest_finalized(client).await?;
	let window = chain::network::current_window(client, number).await?;
	let role_name = match role {
		training::Role::Miner => "miner",
		training::Role::Validator => "validator",
	};
	tracing::info!(%url, block = number, window, phase = "connect", role = role_name, "connected");
	match chain::network::peer_location(client, number, account).await? {
		Some(on_chain) if on_chain == *location => Ok((window, false)),
		Some(on_chain) => {
			tracing::info!(from = ?on_chain, to = ?location, "moving the storage location on chain");
			training::set_storage_location(client, signer, location).await?;
			Ok((window, false))
		},
		None => {
			tracing::info!(%account, "registering as a {role_name}");
			training::register(client, signer, role, location).await?;
			Ok((window, true))
		},
	}
}
