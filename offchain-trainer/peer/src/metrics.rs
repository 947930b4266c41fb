//! Prometheus metrics of a peer, served as text at `http://127.0.0.1:PORT/metrics` when
//! `--metrics-port` is given: the window, training loss and tokens/s, held-out loss, bytes and
//! seconds moved to and from object storage, the Gauntlet scores a validator gave, and whether
//! the peer's θ agreed with the chain's verdict. One registry per process ([`get`]).

use prometheus::{
	Counter, Encoder, Gauge, GaugeVec, IntCounter, IntGauge, Opts, Registry, TextEncoder,
};
use std::{net::SocketAddr, sync::OnceLock};

/// Every metric of the peer.
pub struct Metrics {
	registry: Registry,
	/// The newest window this peer applied.
	pub window: IntGauge,
	/// Mean inner loss of the last trained window.
	pub train_loss: Gauge,
	/// Tokens per second of the last trained window.
	pub tokens_per_second: Gauge,
	/// Held-out loss after the last outer step.
	pub held_out_loss: Gauge,
	/// Bytes uploaded.
	pub upload_bytes: IntCounter,
	/// Seconds spent uploading.
	pub upload_seconds: Counter,
	/// Bytes downloaded.
	pub download_bytes: IntCounter,
	/// Seconds spent downloading.
	pub download_seconds: Counter,
	/// Final score this validator gave each peer in the last window it scored.
	pub scores: GaugeVec,
	/// 1 while the last settled window's θ matched the verdict, 0 after a re-sync.
	pub theta_agreed: IntGauge,
	/// Re-syncs to the chain's θ.
	pub resyncs: IntCounter,
	/// 1 while nothing reproduces the chain's θ (the peer follows on its own and does not train).
	pub theta_diverged: IntGauge,
	/// Checkpoints θ was loaded from (joins and re-syncs).
	pub checkpoint_loads: IntCounter,
	/// Windows the peer sat out (did not train, commit or score), whatever the reason.
	pub sat_out: IntCounter,
}

fn must<T>(r: Result<T, prometheus::Error>) -> T {
	// The metric definitions below are constant and valid; a failure is a programming error
	// caught by the tests.
	r.unwrap_or_else(|e| panic!("invalid metric definition: {e}"))
}

impl Metrics {
	fn new() -> Self {
		let registry =
			Registry::new_custom(Some("tessera".into()), None).unwrap_or_else(|_| Registry::new());
		let m = Self {
			window: must(IntGauge::new("window", "newest window applied")),
			train_loss: must(Gauge::new(
				"train_loss",
				"mean inner loss of the last trained window",
			)),
			tokens_per_second: must(Gauge::new(
				"tokens_per_second",
				"inner-loop tokens per second, last trained window",
			)),
			held_out_loss: must(Gauge::new(
				"held_out_loss",
				"held-out loss after the last outer step",
			)),
			upload_bytes: must(IntCounter::new("upload_bytes_total", "bytes uploaded")),
			upload_seconds: must(Counter::new("upload_seconds_total", "seconds spent uploading")),
			download_bytes: must(IntCounter::new("download_bytes_total", "bytes downloaded")),
			download_seconds: must(Counter::new(
				"download_seconds_total",
				"seconds spent downloading",
			)),
			scores: must(GaugeVec::new(
				Opts::new("score", "final score given to each peer in the last window scored"),
				&["peer"],
			)),
			theta_agreed: must(IntGauge::new(
				"theta_agreed",
				"1 while the last settled window's θ matched the chain's verdict",
			)),
			resyncs: must(IntCounter::new("resyncs_total", "re-syncs to the chain's θ")),
			theta_diverged: must(IntGauge::new(
				"theta_diverged",
				"1 while no re-sync reproduces the chain's θ (no training on it)",
			)),
			checkpoint_loads: must(IntCounter::new(
				"checkpoint_loads_total",
				"checkpoints θ was loaded from (joins and re-syncs)",
			)),
			sat_out: must(IntCounter::new(
				"sat_out_total",
				"windows sat out (not trained, committed or scored)",
			)),
			registry,
		};
		for c in [
			Box::new(m.window.clone()) as Box<dyn prometheus::core::Collector>,
			Box::new(m.train_loss.clone()),
			Box::new(m.tokens_per_second.clone()),
			Box::new(m.held_out_loss.clone()),
			Box::new(m.upload_bytes.clone()),
			Box::new(m.upload_seconds.clone()),
			Box::new(m.download_bytes.clone()),
			Box::new(m.download_seconds.clone()),
			Box::new(m.scores.clone()),
			Box::new(m.theta_agreed.clone()),
			Box::new(m.resyncs.clone()),
			Box::new(m.theta_diverged.clone()),
			Box::new(m.checkpoint_loads.clone()),
			Box::new(m.sat_out.clone()),
		] {
			must(m.registry.register(c));
		}
		m.theta_agreed.set(1);
		m
	}

	/// The metrics in Prometheus' text format.
	pub fn render(&self) -> String {
		let mut out = Vec::new();
		if TextEncoder::new().encode(&self.registry.gather(), &mut out).is_err() {
			return String::new();
		}
		String::from_utf8(out).unwrap_or_default()
	}
}

/// The process's metrics.
pub fn get() -> &'static Metrics {
	static METRICS: OnceLock<Metrics> = OnceLock::new();
	METRICS.get_or_init(Metrics::new)
}

/// Serves `/metrics` on `127.0.0.1:port` (0: a free port) until the process ends; returns the
/// bound address.
pub async fn serve(port: u16) -> std::io::Result<SocketAddr> {
	use tokio::io::{AsyncReadExt, AsyncWriteExt};
	let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
	let addr = listener.local_addr()?;
	tokio::spawn(async move {
		while let Ok((mut stream, _)) = listener.accept().await {
			tokio::spawn(async move {
				// One small request per connection: read the head, answer, close.
				let mut head = [0u8; 1024];
				let n = match tokio::time::timeout(
					std::time::Duration::from_secs(5),
					stream.read(&mut head),
				)
				.await
				{
					Ok(Ok(n)) => n,
					_ => return,
				};
				let line = String::from_utf8_lossy(&head[..n]);
				let (status, body) = if line.starts_with("GET /metrics") {
					("200 OK", get().render())
				} else {
					("404 Not Found", "not found: try /metrics\n".to_string())
				};
				let response = format!(
					"HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
					body.len()
				);
				let _ = stream.write_all(response.as_bytes()).await;
			});
		}
	});
	Ok(addr)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[tokio::test]
	async fn metrics_are_served_in_the_text_format() {
		get().window.set(7);
		get().scores.with_label_values(&["aa"]).set(0.5);
		let addr = serve(0).await.unwrap();
		let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
		use tokio::io::{AsyncReadExt, AsyncWriteExt};
		stream.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
		let mut body = String::new();
		stream.read_to_string(&mut body).await.unwrap();
		assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
		assert!(body.contains("tessera_window 7"), "{body}");
		assert!(body.contains("tessera_score{peer=\"aa\"} 0.5"), "{body}");
		assert!(body.contains("tessera_theta_agreed 1"), "{body}");
	}
}
