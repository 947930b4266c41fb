//! `offchain-trainer audit`: answers an auditor's questions from the chain alone — what happened
//! in a window ([`query::window`]), how peers did over a range of windows ([`query::peer`]), who
//! holds the most incentive ([`query::standings`]) — as a table, JSON or CSV ([`render`]), and a
//! score chart. It reads a running node (`--url`), or a stopped node's database (`--db`): then it
//! starts a fresh node on that database for as long as it asks, on a loopback port, sealing no
//! block in that time. Answers come from the newest finalized block, or from an older one
//! (`--at`, or found for a window the chain has pruned: [`history`]), which needs an archive
//! node once the node has discarded that block's state.

pub mod history;
pub mod query;
pub mod render;

use crate::devnet::node::{NodeConfig, NodeError, NodeProcess};
use std::{path::PathBuf, time::Duration};
use tessera_chain::{self as chain, ChainError, Client};

/// Why an audit could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
	/// The chain could not be read.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// The node on the database did not start.
	#[error(transparent)]
	Node(#[from] NodeError),
	/// An account could not be understood.
	#[error("{0} is not an account: give a dev key (//Alice), 32 bytes of hex or an SS58 address")]
	Account(String),
	/// A past block could not be read.
	#[error(transparent)]
	History(#[from] history::HistoryError),
}

/// Where the chain is read.
#[derive(Clone, Debug)]
pub enum Source {
	/// Running nodes of the network: the first that answers is read.
	Url(chain::Endpoints),
	/// A stopped node's `--base-path`, served by a node started for the audit.
	Database {
		/// The database directory.
		base_path: PathBuf,
		/// The `tessera-node` binary.
		node_bin: PathBuf,
	},
}

/// A connection for the audit, with the node it started, if any (stopped on drop).
pub struct Connection {
	/// The client.
	pub client: Client,
	/// The block the answers are read at (the newest finalized one).
	pub at: u64,
	/// The node's URL (named when it lacks a block's state).
	pub url: String,
	_node: Option<NodeProcess>,
}

/// Connects to `source`.
pub async fn connect(source: &Source) -> Result<Connection, AuditError> {
	let (mut endpoints, node) = match source {
		Source::Url(endpoints) => (endpoints.clone(), None),
		Source::Database { base_path, node_bin } => {
			let config = NodeConfig {
				bin: node_bin.clone(),
				base_path: base_path.clone(),
				// Read-only in effect: no block is sealed for an hour (the longest the node allows).
				block_time_ms: 3_600_000,
				rpc_port: 0,
				log_path: std::env::temp_dir()
					.join(format!("tessera-audit-node-{}.log", std::process::id())),
				startup_timeout: Duration::from_secs(120),
				// The database's own mode: an archive database answers for any block.
				state_pruning: None,
			};
			let node = tokio::task::block_in_place(|| NodeProcess::start(&config))?;
			let url = chain::Endpoints::single(node.rpc_url()).map_err(|e| ChainError::Rpc {
				url: node.rpc_url().to_string(),
				message: e.to_string(),
			})?;
			(url, Some(node))
		},
	};
	let client =
		chain::endpoints::connect_any(&mut endpoints, chain::endpoints::DEFAULT_STALL).await?;
	let url = endpoints.current().to_string();
	let at = client.at_current_block().await.map_err(ChainError::query)?.block_number();
	Ok(Connection { client, at, url, _node: node })
}

/// An account from a dev key URI (`//Alice`), 32 bytes of hex (with or without `0x`) or an
/// SS58 address (`chain::address::parse`).
pub fn parse_account(text: &str) -> Result<[u8; 32], AuditError> {
	chain::address::parse(text)
		.map_err(|_| AuditError::Account(crate::account::key::shown_safely(text)))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn accounts_parse_from_dev_keys_hex_and_ss58() {
		let alice = parse_account("//Alice").unwrap();
		assert_eq!(hex::encode(alice).len(), 64);
		assert_eq!(parse_account(&hex::encode(alice)).unwrap(), alice);
		assert_eq!(parse_account(&format!("0x{}", hex::encode(alice))).unwrap(), alice);
		let ss58 = chain::AccountId::from(alice).to_string();
		assert_eq!(parse_account(&ss58).unwrap(), alice);
		assert!(matches!(parse_account("not-an-account"), Err(AuditError::Account(_))));
	}
}
