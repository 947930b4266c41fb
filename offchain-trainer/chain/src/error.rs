//! Errors of the chain client.

/// What can go wrong talking to the chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
	/// The node could not be reached, or its metadata could not be read.
	#[error("cannot connect to the node at {url}: {source}")]
	Connect {
		/// The node URL.
		url: String,
		/// Why.
		#[source]
		source: Box<subxt::error::OnlineClientError>,
	},
	/// The RPC connection to the node could not be opened.
	#[error("cannot open an RPC connection to the node at {url}: {message}")]
	Rpc {
		/// The node URL.
		url: String,
		/// Why.
		message: String,
	},
	/// The stream of finalized blocks failed or ended.
	#[error("finalized block stream: {0}")]
	Blocks(String),
	/// Reading a block's events or storage failed.
	#[error("block {number}: {message}")]
	AtBlock {
		/// The block number.
		number: u64,
		/// What failed.
		message: String,
	},
	/// A storage query failed.
	#[error("storage query: {0}")]
	Query(String),
	/// The node at `url` did not answer, or sent no finalized block, within `after`.
	#[error("the node at {url} was silent for {after:?}")]
	Stalled {
		/// The node URL.
		url: String,
		/// How long it was waited for.
		after: std::time::Duration,
	},
}

impl ChainError {
	/// A failed storage or runtime-API query, keeping the client's message.
	pub fn query(e: impl std::fmt::Display) -> Self {
		Self::Query(e.to_string())
	}
}
