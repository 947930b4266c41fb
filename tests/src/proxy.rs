//! A TCP proxy on a loopback port chosen at run time, forwarding every connection to a target
//! address; [`Proxy::drop_connections`] cuts every open connection at once, as a flaky network
//! or a load balancer would. Peers connected through it see their RPC connection drop.
//! [`Proxy::silence`] makes it a node gone silent: connections stay open and new ones are
//! accepted, but nothing is forwarded either way any more.

use std::{
	net::SocketAddr,
	sync::{
		Arc, Mutex,
		atomic::{AtomicBool, Ordering},
	},
};
use tokio::{net::TcpListener, task::JoinHandle};

/// A running proxy; stopped (with its connections) on drop.
pub struct Proxy {
	addr: SocketAddr,
	accept: JoinHandle<()>,
	connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
	silent: Arc<AtomicBool>,
	silenced: Arc<tokio::sync::Notify>,
}

impl Proxy {
	/// Forwards connections on a fresh loopback port to `target` (`host:port`).
	pub async fn start(target: String) -> anyhow::Result<Self> {
		let listener = TcpListener::bind("127.0.0.1:0").await?;
		let addr = listener.local_addr()?;
		let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
		let silent = Arc::new(AtomicBool::new(false));
		let silenced = Arc::new(tokio::sync::Notify::new());
		let tracked = connections.clone();
		let (quiet, quieted) = (silent.clone(), silenced.clone());
		let accept = tokio::spawn(async move {
			while let Ok((mut inbound, _)) = listener.accept().await {
				let target = target.clone();
				let (quiet, quieted) = (quiet.clone(), quieted.clone());
				let task = tokio::spawn(async move {
					// Both ends are held open while silent: nothing goes through, nothing closes.
					// Registered before the flag is read, so a silence from now on is seen.
					let notified = quieted.notified();
					tokio::pin!(notified);
					notified.as_mut().enable();
					let hold = std::future::pending::<()>();
					if quiet.load(Ordering::SeqCst) {
						return hold.await;
					}
					if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
						tokio::select! {
							_ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {},
							() = notified => hold.await,
						}
					}
				});
				if let Ok(mut list) = tracked.lock() {
					list.retain(|t| !t.is_finished());
					list.push(task);
				}
			}
		});
		Ok(Self { addr, accept, connections, silent, silenced })
	}

	/// `ws://127.0.0.1:PORT`, for a WebSocket RPC target.
	pub fn ws_url(&self) -> String {
		format!("ws://{}", self.addr)
	}

	/// From now on forwards nothing: open connections stay open and silent, new ones are
	/// accepted and left unanswered (a node that hangs).
	pub fn silence(&self) {
		self.silent.store(true, Ordering::SeqCst);
		self.silenced.notify_waiters();
	}

	/// Closes every connection open now; new ones are accepted as before. Returns how many.
	pub fn drop_connections(&self) -> usize {
		let Ok(mut list) = self.connections.lock() else { return 0 };
		let n = list.iter().filter(|t| !t.is_finished()).count();
		for t in list.drain(..) {
			t.abort();
		}
		n
	}
}

impl Drop for Proxy {
	fn drop(&mut self) {
		self.accept.abort();
		self.drop_connections();
	}
}
