//! The nodes a client may reach: an ordered list of RPC endpoints and the one in use. A peer
//! connects to the one in use, and moves to the next ([`Endpoints::advance`], wrapping round)
//! when its connection fails, when connecting takes longer than its stall time, or when no
//! finalized block arrives for that long ([`within`]): a node that went away or went silent.
//! One-shot commands take the first endpoint that answers ([`connect_any`]).

use crate::{ChainError, Client};
use std::{future::Future, time::Duration};

/// The default stall time: no new finalized block (or no answer to a connection) for this
/// long, and a peer moves to its next endpoint. Ten times the block time of a production chain
/// (6 s), with GRANDPA's few blocks of lag to spare.
pub const DEFAULT_STALL: Duration = Duration::from_secs(60);

/// Why a list of endpoints is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointsError {
	/// No endpoint was given.
	#[error("no node endpoint given: pass --url ws://HOST:PORT (repeat it for more nodes)")]
	Empty,
	/// An endpoint is not a WebSocket URL.
	#[error("a node endpoint must be a ws:// or wss:// address, not {0:?}")]
	NotWebSocket(String),
	/// The same endpoint twice.
	#[error("the node endpoint {0} is listed twice")]
	Duplicate(String),
}

/// An ordered, non-empty list of node endpoints (`ws://` or `wss://`) and the one in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
	urls: Vec<String>,
	current: usize,
}

impl Endpoints {
	/// The endpoints `urls`, in order of preference; the first is used first. Surrounding
	/// whitespace is dropped; empty entries are refused as not WebSocket URLs.
	pub fn new<I, S>(urls: I) -> Result<Self, EndpointsError>
	where
		I: IntoIterator<Item = S>,
		S: AsRef<str>,
	{
		let mut list: Vec<String> = Vec::new();
		for url in urls {
			let url = url.as_ref().trim();
			let scheme_ok = url.strip_prefix("ws://").or_else(|| url.strip_prefix("wss://"));
			if scheme_ok.is_none_or(str::is_empty) {
				return Err(EndpointsError::NotWebSocket(url.to_string()));
			}
			if list.iter().any(|u| u == url) {
				return Err(EndpointsError::Duplicate(url.to_string()));
			}
			list.push(url.to_string());
		}
		if list.is_empty() {
			return Err(EndpointsError::Empty);
		}
		Ok(Self { urls: list, current: 0 })
	}

	/// One endpoint.
	pub fn single(url: &str) -> Result<Self, EndpointsError> {
		Self::new([url])
	}

	/// The endpoint in use.
	pub fn current(&self) -> &str {
		&self.urls[self.current]
	}

	/// Moves to the next endpoint (after the last, the first again) and returns it.
	pub fn advance(&mut self) -> &str {
		self.current = (self.current + 1) % self.urls.len();
		self.current()
	}

	/// Every endpoint, in order.
	pub fn all(&self) -> &[String] {
		&self.urls
	}

	/// How many endpoints there are (at least one).
	pub fn len(&self) -> usize {
		self.urls.len()
	}

	/// Never: a list of endpoints holds at least one.
	pub fn is_empty(&self) -> bool {
		false
	}
}

impl std::fmt::Display for Endpoints {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(&self.urls.join(", "))
	}
}

/// `work` on the node at `url`, or [`ChainError::Stalled`] once it has taken `stall`: what a
/// peer waits with for its next finalized block, so that a silent node is left.
pub async fn within<T>(
	stall: Duration,
	url: &str,
	work: impl Future<Output = T>,
) -> Result<T, ChainError> {
	tokio::time::timeout(stall, work)
		.await
		.map_err(|_| ChainError::Stalled { url: url.to_string(), after: stall })
}

/// Connects to `url` with every wait bounded by `stall`: opening the connection, each query on
/// it afterwards (jsonrpsee's request timeout; its default is 60 s), and anything waiting on a
/// node that has said nothing for that long ([`crate::watched`]), so that a node that accepts
/// connections, or takes queries, and never answers holds nobody.
pub async fn connect_within(url: &str, stall: Duration) -> Result<Client, ChainError> {
	let rpc_error = |e: jsonrpsee::core::ClientError| ChainError::Rpc {
		url: url.to_string(),
		message: e.to_string(),
	};
	// Opening is bounded by `within` (its own deadline, later, only backs it up).
	let open = jsonrpsee::ws_client::WsClientBuilder::default()
		.connection_timeout(stall.saturating_mul(2))
		.request_timeout(stall)
		.max_buffer_capacity_per_subscription(4096)
		.build(url);
	let rpc = within(stall, url, open).await?.map_err(rpc_error)?;
	// Cut once the node says nothing for `stall`: what waits on it then fails, wherever it is.
	let rpc = subxt::rpcs::RpcClient::new(crate::watched::Watched::new(rpc, url, stall));
	let client = within(stall, url, Client::from_rpc_client(rpc))
		.await?
		.map_err(|source| ChainError::Connect { url: url.to_string(), source: Box::new(source) })?;
	crate::use_chain_prefix(&client).await?;
	Ok(client)
}

/// Connects to the first endpoint of `endpoints` that answers within `stall`, trying each once
/// from the one in use, and leaves that one in use; the last error when none answers.
pub async fn connect_any(endpoints: &mut Endpoints, stall: Duration) -> Result<Client, ChainError> {
	let mut last = None;
	for _ in 0..endpoints.len() {
		match connect_within(endpoints.current(), stall).await {
			Ok(client) => return Ok(client),
			Err(e) => {
				if endpoints.len() > 1 {
					tracing::warn!(url = endpoints.current(), error = %e, "node unreachable; trying the next");
				}
				last = Some(e);
				endpoints.advance();
			},
		}
	}
	Err(last.unwrap_or_else(|| ChainError::Blocks("no endpoint to try".into())))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn endpoints_rotate_in_order_and_wrap_round() {
		let mut e = Endpoints::new(["ws://a:1", " wss://b:2 ", "ws://c:3"]).unwrap();
		assert_eq!(e.current(), "ws://a:1");
		assert_eq!(e.advance(), "wss://b:2");
		assert_eq!(e.advance(), "ws://c:3");
		assert_eq!(e.advance(), "ws://a:1");
		assert_eq!(e.len(), 3);
		assert_eq!(e.to_string(), "ws://a:1, wss://b:2, ws://c:3");
		let mut one = Endpoints::single("ws://only:9944").unwrap();
		assert_eq!(one.advance(), "ws://only:9944");
	}

	#[test]
	fn bad_lists_are_refused_with_the_entry() {
		assert_eq!(Endpoints::new(Vec::<String>::new()), Err(EndpointsError::Empty));
		assert_eq!(
			Endpoints::new(["ws://a:1", "http://b:2"]),
			Err(EndpointsError::NotWebSocket("http://b:2".into()))
		);
		assert_eq!(Endpoints::new(["ws://"]), Err(EndpointsError::NotWebSocket("ws://".into())));
		assert_eq!(Endpoints::new([""]), Err(EndpointsError::NotWebSocket(String::new())));
		assert_eq!(
			Endpoints::new(["ws://a:1", "ws://a:1"]),
			Err(EndpointsError::Duplicate("ws://a:1".into()))
		);
	}

	#[tokio::test]
	async fn a_silent_node_is_left_after_the_stall_time() {
		let quick = Duration::from_millis(20);
		let silent = within(quick, "ws://x:1", std::future::pending::<()>()).await;
		assert!(
			matches!(&silent, Err(ChainError::Stalled { url, after }) if url == "ws://x:1" && *after == quick),
			"{silent:?}"
		);
		assert_eq!(within(quick, "ws://x:1", async { 7 }).await.ok(), Some(7));
	}

	/// A node that accepts connections and never answers the WebSocket handshake.
	async fn silent_node() -> (String, tokio::task::JoinHandle<()>) {
		let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
		let url = format!("ws://{}", listener.local_addr().unwrap());
		let held = tokio::spawn(async move {
			let mut open = Vec::new();
			while let Ok((s, _)) = listener.accept().await {
				open.push(s);
			}
		});
		(url, held)
	}

	#[tokio::test]
	async fn a_node_that_never_answers_a_connection_is_given_up_on() {
		let (first, a) = silent_node().await;
		let (second, b) = silent_node().await;
		let quick = Duration::from_millis(300);
		let e = connect_within(&first, quick).await.err();
		assert!(matches!(e, Some(ChainError::Stalled { .. })), "{e:?}");
		// Both tried once, from the one in use: the error is the last one's, and the first is
		// in use again.
		let mut both = Endpoints::new([second.clone(), first.clone()]).unwrap();
		let e = connect_any(&mut both, quick).await.err();
		assert!(matches!(&e, Some(ChainError::Stalled { url, .. }) if *url == first), "{e:?}");
		assert_eq!(both.current(), second);
		a.abort();
		b.abort();
	}
}
