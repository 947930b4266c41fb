//! An RPC connection that is cut once its node goes silent. A peer follows finalized blocks,
//! so a healthy node sends it something at least every block (subxt's chainHead backend keeps
//! a follow subscription open). [`Watched`] notes when the node last said anything (a response
//! or a subscription notification); once it has said nothing for the stall time, every request
//! and subscription in progress or to come fails with a connection error. Whatever part of the
//! peer waits on the node then returns through its usual error path, and the peer moves to its
//! next endpoint. A request timeout alone does not do this: the chainHead backend waits for a
//! query's result on the follow subscription, which no request timeout bounds.

use futures::StreamExt;
use std::{
	sync::{
		Arc,
		atomic::{AtomicBool, AtomicU64, Ordering},
	},
	time::{Duration, Instant},
};
use subxt::rpcs::{
	Error as RpcError,
	client::{RawRpcFuture, RawRpcSubscription, RawValue, RpcClientT},
};

/// The error every cut request and subscription ends with.
#[derive(Debug, thiserror::Error)]
#[error("the node at {url} said nothing for {after:?}: connection cut")]
pub struct Silent {
	/// The node URL.
	pub url: String,
	/// How long it said nothing.
	pub after: Duration,
}

/// What the connection and its watchdog share.
struct Shared {
	url: String,
	stall: Duration,
	opened: Instant,
	/// When the node last said anything, in milliseconds since `opened`.
	last_heard_ms: AtomicU64,
	cut: AtomicBool,
	cut_signal: tokio::sync::Notify,
}

impl Shared {
	fn heard(&self) {
		let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
		self.last_heard_ms.fetch_max(now, Ordering::Relaxed);
	}

	fn silent_for(&self) -> Duration {
		let last = Duration::from_millis(self.last_heard_ms.load(Ordering::Relaxed));
		self.opened.elapsed().saturating_sub(last)
	}

	fn error(&self) -> RpcError {
		RpcError::Client(Box::new(Silent { url: self.url.clone(), after: self.stall }))
	}

	fn cut(&self) {
		self.cut.store(true, Ordering::SeqCst);
		self.cut_signal.notify_waiters();
	}

	/// Returns once the connection is cut.
	async fn until_cut(&self) {
		let notified = self.cut_signal.notified();
		tokio::pin!(notified);
		// Registered before the flag is read, so a cut from now on is seen.
		notified.as_mut().enable();
		if self.cut.load(Ordering::SeqCst) {
			return;
		}
		notified.await;
	}
}

/// An RPC client that is cut once its node at `url` says nothing for `stall`.
pub struct Watched<C> {
	inner: C,
	shared: Arc<Shared>,
}

impl<C: RpcClientT> Watched<C> {
	/// Watches `inner`, the connection to `url`: a watchdog task checks four times per `stall`
	/// and ends with the connection (when this client is dropped, or once it has cut it).
	pub fn new(inner: C, url: &str, stall: Duration) -> Self {
		let shared = Arc::new(Shared {
			url: url.to_string(),
			stall,
			opened: Instant::now(),
			last_heard_ms: AtomicU64::new(0),
			cut: AtomicBool::new(false),
			cut_signal: tokio::sync::Notify::new(),
		});
		let watched = Arc::downgrade(&shared);
		let tick = (stall / 4).max(Duration::from_millis(10));
		tokio::spawn(async move {
			loop {
				tokio::time::sleep(tick).await;
				let Some(shared) = watched.upgrade() else { return };
				if shared.silent_for() >= shared.stall {
					tracing::warn!(url = %shared.url, after = ?shared.stall, "the node said nothing; cutting the connection");
					shared.cut();
					return;
				}
			}
		});
		Self { inner, shared }
	}

	/// Whether the connection was cut.
	pub fn is_cut(&self) -> bool {
		self.shared.cut.load(Ordering::SeqCst)
	}
}

impl<C: RpcClientT> RpcClientT for Watched<C> {
	fn request_raw<'a>(
		&'a self,
		method: &'a str,
		params: Option<Box<RawValue>>,
	) -> RawRpcFuture<'a, Box<RawValue>> {
		Box::pin(async move {
			let shared = &self.shared;
			tokio::select! {
				answer = self.inner.request_raw(method, params) => {
					if answer.is_ok() {
						shared.heard();
					}
					answer
				},
				() = shared.until_cut() => Err(shared.error()),
			}
		})
	}

	fn subscribe_raw<'a>(
		&'a self,
		sub: &'a str,
		params: Option<Box<RawValue>>,
		unsub: &'a str,
	) -> RawRpcFuture<'a, RawRpcSubscription> {
		Box::pin(async move {
			let shared = self.shared.clone();
			let subscription = tokio::select! {
				s = self.inner.subscribe_raw(sub, params, unsub) => s?,
				() = shared.until_cut() => return Err(shared.error()),
			};
			shared.heard();
			// Each notification is hearing from the node; a cut ends the stream with its error.
			let stream = futures::stream::unfold(
				(subscription.stream, shared, false),
				|(mut stream, shared, ended)| async move {
					if ended {
						return None;
					}
					tokio::select! {
						item = stream.next() => {
							let item = item?;
							shared.heard();
							Some((item, (stream, shared, false)))
						},
						() = shared.until_cut() => {
							let e = shared.error();
							Some((Err(e), (stream, shared, true)))
						},
					}
				},
			);
			Ok(RawRpcSubscription { stream: Box::pin(stream), id: subscription.id })
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use futures::stream;

	/// A node that answers requests after `delay` and whose subscription sends one
	/// notification, then nothing.
	struct Node {
		delay: Duration,
	}

	impl RpcClientT for Node {
		fn request_raw<'a>(
			&'a self,
			_method: &'a str,
			_params: Option<Box<RawValue>>,
		) -> RawRpcFuture<'a, Box<RawValue>> {
			Box::pin(async move {
				tokio::time::sleep(self.delay).await;
				RawValue::from_string("1".into()).map_err(RpcError::Deserialization)
			})
		}

		fn subscribe_raw<'a>(
			&'a self,
			_sub: &'a str,
			_params: Option<Box<RawValue>>,
			_unsub: &'a str,
		) -> RawRpcFuture<'a, RawRpcSubscription> {
			Box::pin(async move {
				let first = RawValue::from_string("2".into()).map_err(RpcError::Deserialization)?;
				let silent = stream::once(async move { Ok(first) }).chain(stream::pending());
				Ok(RawRpcSubscription { stream: Box::pin(silent), id: None })
			})
		}
	}

	/// A node that never answers a request and sends a notification every `every`.
	struct Ticking {
		every: Duration,
	}

	impl RpcClientT for Ticking {
		fn request_raw<'a>(
			&'a self,
			_method: &'a str,
			_params: Option<Box<RawValue>>,
		) -> RawRpcFuture<'a, Box<RawValue>> {
			Box::pin(std::future::pending())
		}

		fn subscribe_raw<'a>(
			&'a self,
			_sub: &'a str,
			_params: Option<Box<RawValue>>,
			_unsub: &'a str,
		) -> RawRpcFuture<'a, RawRpcSubscription> {
			let every = self.every;
			Box::pin(async move {
				let ticks = stream::unfold((), move |()| async move {
					tokio::time::sleep(every).await;
					Some((RawValue::from_string("3".into()).map_err(RpcError::Deserialization), ()))
				});
				Ok(RawRpcSubscription { stream: Box::pin(ticks), id: None })
			})
		}
	}

	#[tokio::test]
	async fn notifications_alone_keep_a_node_heard() {
		// Three stall times of notifications every tenth of one, and no request answered.
		let ticking = Watched::new(Ticking { every: Duration::from_millis(100) }, "ws://c:3", {
			Duration::from_secs(1)
		});
		let mut sub = ticking.subscribe_raw("s", None, "u").await.unwrap();
		for _ in 0..30 {
			assert!(sub.stream.next().await.is_some_and(|n| n.is_ok()));
		}
		assert!(!ticking.is_cut());
	}

	#[tokio::test]
	async fn a_talking_node_is_kept_and_a_silent_one_is_cut() {
		let stall = Duration::from_millis(400);
		// Answers within the stall time, again and again: never cut.
		let talking = Watched::new(Node { delay: Duration::from_millis(100) }, "ws://a:1", stall);
		for _ in 0..8 {
			assert!(talking.request_raw("m", None).await.is_ok());
		}
		assert!(!talking.is_cut());
		// Its subscription goes quiet, and so does everything else: the stream and a request
		// in progress both end with the cut, and so does a request made afterwards.
		let quiet = Watched::new(Node { delay: Duration::from_secs(3600) }, "ws://b:2", stall);
		let mut sub = quiet.subscribe_raw("s", None, "u").await.unwrap();
		assert!(sub.stream.next().await.is_some_and(|n| n.is_ok()));
		let started = Instant::now();
		let (pending, next) = tokio::join!(quiet.request_raw("m", None), sub.stream.next());
		assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
		for e in [pending.err(), next.and_then(Result::err)] {
			assert!(e.is_some_and(|e| e.to_string().contains("said nothing")));
		}
		assert!(sub.stream.next().await.is_none(), "the cut ends the stream");
		assert!(quiet.is_cut());
		let later = quiet.request_raw("m", None).await;
		assert!(later.is_err_and(|e| e.to_string().contains("ws://b:2 said nothing")));
	}
}
