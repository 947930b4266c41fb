//! # tessera-chain
//!
//! Owns the chain client: subxt types generated from the runtime metadata checked in at
//! `offchain-trainer/metadata/tessera.scale`; the nodes a client may reach ([`endpoints`]);
//! connecting and reconnecting to them ([`reconnect`]), cutting a connection whose node went
//! silent ([`watched`]); accounts' addresses ([`address`]), standing ([`account`]) and amounts of
//! the token ([`amount`]); reading a window's record and verdict ([`network`], in the trainer's own types
//! of [`record`]), the pallet's training storage and calls ([`training`], [`tx`]); the run's identity ([`run`]); the governed parameters ([`parameters`]); following
//! opened windows ([`windows`]); the meaning of the Gauntlet's flag bits ([`flags`]); and the
//! pallet reference generated from the metadata ([`docs`]).
//!
//! Regenerate the metadata after changing the runtime (a test fails while it is stale):
//!
//! ```text
//! cargo run -p tessera-node -- export-metadata -o offchain-trainer/metadata/tessera.scale
//! ```

pub mod account;
pub mod address;
pub mod amount;
pub mod docs;
pub mod endpoints;
mod error;
pub mod flags;
pub mod network;
pub mod parameters;
pub mod reconnect;
pub mod record;
pub mod run;
pub mod training;
pub mod tx;
pub mod watched;
pub mod windows;

pub use endpoints::Endpoints;
pub use error::ChainError;

/// Types and calls generated from our runtime's metadata.
#[subxt::subxt(
	runtime_metadata_path = "../metadata/tessera.scale",
	derive_for_all_types = "Clone, PartialEq, Eq"
)]
pub mod runtime {}

/// Client configuration: our chain uses Polkadot's account, signature and header formats.
pub type TesseraConfig = subxt::PolkadotConfig;
/// A connected client.
pub type Client = subxt::OnlineClient<TesseraConfig>;
/// An account on our chain.
pub type AccountId = subxt::utils::AccountId32;

/// Connects to the node at `url` (`ws://` or `wss://`), and shows addresses with the chain's SS58
/// prefix from then on ([`address`]).
pub async fn connect(url: &str) -> Result<Client, ChainError> {
	let client = Client::from_insecure_url(url)
		.await
		.map_err(|source| ChainError::Connect { url: url.to_string(), source: Box::new(source) })?;
	use_chain_prefix(&client).await?;
	Ok(client)
}

/// Shows addresses with the SS58 prefix of `client`'s chain from now on.
async fn use_chain_prefix(client: &Client) -> Result<(), ChainError> {
	let prefix = client
		.at_current_block()
		.await
		.map_err(ChainError::query)?
		.constants()
		.entry(runtime::constants().system().ss58_prefix())
		.map_err(ChainError::query)?;
	address::set_prefix(prefix).map_err(ChainError::query)
}
