//! The chain's governed parameters (`pallet-training`'s `Parameters` and `PendingParameters`):
//! reading the set in force and the one scheduled for the next window, and scheduling a new set
//! through the chain's sudo key (`set_parameters`, effective when the next window opens).

use super::{ChainError, Client, run, runtime, tx};
use subxt_signer::sr25519::Keypair;

/// The parameter set as the runtime stores it (block numbers `u32`, balances `u128`, shares in
/// parts per billion).
pub type Parameters = runtime::runtime_types::pallet_training::parameters::RunParameters<u32, u128>;

/// The set in force and the one scheduled for the next window, at block `number`.
pub async fn at(
	client: &Client,
	number: u64,
) -> Result<(Parameters, Option<Parameters>), ChainError> {
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let storage = at.storage();
	let training = runtime::storage().training();
	let in_force = storage
		.try_fetch(training.parameters(), ())
		.await
		.map_err(ChainError::query)?
		.ok_or_else(|| ChainError::Query("the chain records no parameters".into()))?
		.decode()
		.map_err(ChainError::query)?;
	let pending = storage
		.try_fetch(training.pending_parameters(), ())
		.await
		.map_err(ChainError::query)?
		.map(|p| p.decode().map_err(ChainError::query))
		.transpose()?;
	Ok((in_force, pending))
}

/// The set in force and the pending one at the newest finalized block.
pub async fn current(client: &Client) -> Result<(Parameters, Option<Parameters>), ChainError> {
	let newest = client.at_current_block().await.map_err(ChainError::query)?.block_number();
	at(client, newest).await
}

/// Schedules `parameters` for the next window, signed by the chain's sudo key `root`; returns
/// the window that opens with them and its first block. A set the pallet refuses comes back
/// as [`tx::TxError::Rejected`] naming the bound it breaks.
pub async fn schedule(
	client: &Client,
	root: &Keypair,
	parameters: Parameters,
) -> Result<(u64, u64), tx::TxError> {
	use runtime::runtime_types::{pallet_training, tessera_runtime::RuntimeCall};
	let inner = RuntimeCall::Training(pallet_training::pallet::Call::set_parameters { parameters });
	let events = run::sudo(client, root, inner).await?;
	match events.find_first::<runtime::training::events::ParametersScheduled>() {
		Some(Ok(e)) => Ok((e.window, e.at_block.into())),
		Some(Err(e)) => Err(tx::TxError::Submission(e.to_string())),
		None => Err(tx::TxError::Dispatch("no ParametersScheduled event".into())),
	}
}
