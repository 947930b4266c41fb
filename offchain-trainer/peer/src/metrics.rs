//! Prometheus metrics of a peer, served by hyper at `http://ADDR/metrics` when `--metrics-addr`
//! (or `--metrics-port`, on 127.0.0.1) is given: the window, training loss, tokens/s and time,
//! held-out loss, bytes and seconds moved to and from object storage, the Gauntlet scores a
//! validator gave, and whether the peer's θ agreed with the chain's verdict. One registry per
//! process ([`get`]); `docs/metrics.md` lists every metric.

use bytes::Bytes;
use http_body_util::Full;
use prometheus::{
	Counter, Encoder, Gauge, GaugeVec, IntCounter, IntGauge, Opts, Registry, TextEncoder,
	core::Collector,
};
use std::{net::SocketAddr, sync::OnceLock, time::Duration};

/// Every metric of the peer. Names follow Prometheus' conventions: the `tessera_` namespace,
/// base units in the name (`_seconds`, `_bytes`), `_total` on every counter; `docs/metrics.md`
/// documents each one and `deploy/grafana/tessera-peer.json` charts them.
pub struct Metrics {
	registry: Registry,
	/// The newest window this peer applied.
	pub window: IntGauge,
	/// Mean inner loss of the last trained window.
	pub train_loss: Gauge,
	/// Tokens per second of the last trained window.
	pub tokens_per_second: Gauge,
	/// Windows this miner trained.
	pub windows_trained: IntCounter,
	/// Seconds spent in the inner loop; its rate is the miner's utilisation.
	pub training_seconds: Counter,
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
	/// Windows this validator scored and submitted results for.
	pub windows_scored: IntCounter,
	/// Final score this validator gave each peer (label `peer`: its SS58 address) in the last
	/// window it scored.
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

/// The prefix of every metric's name.
const NAMESPACE: &str = "tessera";

fn must<T>(r: Result<T, prometheus::Error>) -> T {
	// The metric definitions below are constant and valid; a failure is a programming error
	// caught by the tests.
	r.unwrap_or_else(|e| panic!("invalid metric definition: {e}"))
}

impl Metrics {
	fn new() -> Self {
		let registry =
			Registry::new_custom(Some(NAMESPACE.into()), None).unwrap_or_else(|_| Registry::new());
		fn add<C: Collector + Clone + 'static>(registry: &Registry, metric: C) -> C {
			must(registry.register(Box::new(metric.clone())));
			metric
		}
		let r = &registry;
		let m = Self {
			window: add(r, must(IntGauge::new("window", "newest window applied"))),
			train_loss: add(
				r,
				must(Gauge::new("train_loss", "mean inner loss of the last trained window")),
			),
			tokens_per_second: add(
				r,
				must(Gauge::new(
					"tokens_per_second",
					"inner-loop tokens per second, last trained window",
				)),
			),
			windows_trained: add(
				r,
				must(IntCounter::new("windows_trained_total", "windows trained (miner)")),
			),
			training_seconds: add(
				r,
				must(Counter::new(
					"training_seconds_total",
					"seconds spent in the inner loop (miner); its rate is the utilisation",
				)),
			),
			held_out_loss: add(
				r,
				must(Gauge::new("held_out_loss", "held-out loss after the last outer step")),
			),
			upload_bytes: add(r, must(IntCounter::new("upload_bytes_total", "bytes uploaded"))),
			upload_seconds: add(
				r,
				must(Counter::new("upload_seconds_total", "seconds spent uploading")),
			),
			download_bytes: add(
				r,
				must(IntCounter::new("download_bytes_total", "bytes downloaded")),
			),
			download_seconds: add(
				r,
				must(Counter::new("download_seconds_total", "seconds spent downloading")),
			),
			windows_scored: add(
				r,
				must(IntCounter::new(
					"windows_scored_total",
					"windows scored and submitted (validator)",
				)),
			),
			scores: add(
				r,
				must(GaugeVec::new(
					Opts::new(
						"score",
						"final score given to each peer (SS58 address) in the last window scored",
					),
					&["peer"],
				)),
			),
			theta_agreed: add(
				r,
				must(IntGauge::new(
					"theta_agreed",
					"1 while the last settled window's θ matched the chain's verdict",
				)),
			),
			resyncs: add(r, must(IntCounter::new("resyncs_total", "re-syncs to the chain's θ"))),
			theta_diverged: add(
				r,
				must(IntGauge::new(
					"theta_diverged",
					"1 while no re-sync reproduces the chain's θ (no training on it)",
				)),
			),
			checkpoint_loads: add(
				r,
				must(IntCounter::new(
					"checkpoint_loads_total",
					"checkpoints θ was loaded from (joins and re-syncs)",
				)),
			),
			sat_out: add(
				r,
				must(IntCounter::new(
					"sat_out_total",
					"windows sat out (not trained, committed or scored)",
				)),
			),
			registry,
		};
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

	/// Every metric's full name (`tessera_…`) with its help text and type, labelled families
	/// included before they have a sample.
	pub fn described(&self) -> Vec<(String, String, &'static str)> {
		let mut out = Vec::new();
		for family in self.registry.gather() {
			let kind = match family.get_field_type() {
				prometheus::proto::MetricType::COUNTER => "counter",
				prometheus::proto::MetricType::GAUGE => "gauge",
				prometheus::proto::MetricType::HISTOGRAM => "histogram",
				prometheus::proto::MetricType::SUMMARY => "summary",
				prometheus::proto::MetricType::UNTYPED => "untyped",
			};
			out.push((family.get_name().to_string(), family.get_help().to_string(), kind));
		}
		// A vector without samples is not gathered: describe it from its descriptor.
		for desc in self.scores.desc() {
			let name = format!("{NAMESPACE}_{}", desc.fq_name);
			if !out.iter().any(|(n, ..)| *n == name) {
				out.push((name, desc.help.clone(), "gauge"));
			}
		}
		out.sort();
		out
	}
}

/// The process's metrics.
pub fn get() -> &'static Metrics {
	static METRICS: OnceLock<Metrics> = OnceLock::new();
	METRICS.get_or_init(Metrics::new)
}

/// How long a client may take to send its request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `GET /metrics` (Prometheus' text format) on `addr` until the process ends, over
/// hyper's HTTP/1 server: any other path is 404, any other method 405. A failed `accept` (e.g.
/// out of file descriptors) is logged and retried after a pause; it never stops the server.
/// Returns the bound address (port 0 binds a free one).
pub async fn serve(addr: SocketAddr) -> std::io::Result<SocketAddr> {
	let listener = tokio::net::TcpListener::bind(addr).await?;
	let bound = listener.local_addr()?;
	tokio::spawn(async move {
		let mut pause = Duration::from_millis(100);
		loop {
			let stream = match listener.accept().await {
				Ok((stream, _)) => {
					pause = Duration::from_millis(100);
					stream
				},
				Err(e) => {
					tracing::warn!(error = %e, retry_in = ?pause, "metrics: accepting a connection failed");
					tokio::time::sleep(pause).await;
					pause = (pause * 2).min(Duration::from_secs(5));
					continue;
				},
			};
			tokio::spawn(async move {
				let served = hyper::server::conn::http1::Builder::new()
					.timer(hyper_util::rt::TokioTimer::new())
					.header_read_timeout(HEADER_TIMEOUT)
					.serve_connection(
						hyper_util::rt::TokioIo::new(stream),
						hyper::service::service_fn(|request| async move {
							Ok::<_, std::convert::Infallible>(respond(&request))
						}),
					)
					.await;
				if let Err(e) = served {
					tracing::debug!(error = %e, "metrics: connection ended with an error");
				}
			});
		}
	});
	Ok(bound)
}

/// The answer to one request.
fn respond<B>(request: &hyper::Request<B>) -> hyper::Response<Full<Bytes>> {
	use hyper::{Method, StatusCode, header};
	let (status, content_type, body) = match (request.method(), request.uri().path()) {
		(&Method::GET | &Method::HEAD, "/metrics") => {
			(StatusCode::OK, "text/plain; version=0.0.4; charset=utf-8", get().render())
		},
		(_, "/metrics") => {
			(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "use GET or HEAD\n".to_string())
		},
		_ => (StatusCode::NOT_FOUND, "text/plain", "not found: try /metrics\n".to_string()),
	};
	let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
	*response.status_mut() = status;
	response
		.headers_mut()
		.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
	if status == StatusCode::METHOD_NOT_ALLOWED {
		response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
	}
	response
}

#[cfg(test)]
mod tests {
	use super::*;
	use tokio::io::{AsyncReadExt, AsyncWriteExt};

	async fn ask(addr: SocketAddr, request: &str) -> String {
		let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
		stream.write_all(request.as_bytes()).await.unwrap();
		let mut body = String::new();
		stream.read_to_string(&mut body).await.unwrap();
		body
	}

	#[tokio::test]
	async fn metrics_are_served_in_the_text_format_and_nothing_else() {
		get().window.set(7);
		get()
			.scores
			.with_label_values(&["5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"])
			.set(0.5);
		let addr = serve(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
		let body = ask(addr, "GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
		assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
		assert!(body.contains("content-type: text/plain; version=0.0.4"), "{body}");
		assert!(body.contains("tessera_window 7"), "{body}");
		assert!(
			body.contains(
				"tessera_score{peer=\"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\"} 0.5"
			),
			"{body}"
		);
		assert!(body.contains("tessera_theta_agreed 1"), "{body}");
		let other = ask(addr, "GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
		assert!(other.starts_with("HTTP/1.1 404"), "{other}");
		let post = ask(
			addr,
			"POST /metrics HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
		)
		.await;
		assert!(post.starts_with("HTTP/1.1 405"), "{post}");
		assert!(post.contains("allow: GET, HEAD"), "{post}");
		// Garbage is answered with 400 and the server goes on serving.
		let garbage = ask(addr, "\x00\x01 not http\r\n\r\n").await;
		assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
		let again =
			ask(addr, "GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
		assert!(again.starts_with("HTTP/1.1 200 OK"), "{again}");
	}

	#[test]
	fn names_follow_prometheus_conventions() {
		let described = get().described();
		assert!(described.len() >= 17, "{described:?}");
		for (name, help, kind) in &described {
			assert!(name.starts_with("tessera_"), "{name}");
			assert!(
				name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
				"{name}"
			);
			assert!(!help.is_empty(), "{name} has no help");
			assert_eq!(*kind == "counter", name.ends_with("_total"), "{name} is a {kind}");
			if name.contains("seconds") || name.contains("bytes") {
				let unit = if name.contains("seconds") { "seconds" } else { "bytes" };
				assert!(
					name.ends_with(unit) || name.ends_with(&format!("{unit}_total")),
					"{name}: the unit comes last"
				);
			}
		}
	}

	fn repository_file(path: &str) -> String {
		let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
		std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
	}

	/// Every `tessera_…` name in `text`, with Prometheus' histogram suffixes kept.
	fn names_in(text: &str) -> std::collections::BTreeSet<String> {
		let mut out = std::collections::BTreeSet::new();
		let mut rest = text;
		while let Some(at) = rest.find("tessera_") {
			let tail = &rest[at..];
			let end = tail
				.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
				.unwrap_or(tail.len());
			out.insert(tail[..end].to_string());
			rest = &tail[end..];
		}
		out
	}

	/// `deploy/grafana/tessera-peer.json` queries only metrics the peer exports, and uses each
	/// one.
	#[test]
	fn the_dashboard_queries_what_is_exported() {
		let dashboard: serde_json::Value =
			serde_json::from_str(&repository_file("deploy/grafana/tessera-peer.json")).unwrap();
		let mut queries = Vec::new();
		fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
			match v {
				serde_json::Value::Object(map) => {
					for (k, v) in map {
						match (k.as_str(), v) {
							("expr" | "query", serde_json::Value::String(s)) => out.push(s.clone()),
							_ => walk(v, out),
						}
					}
				},
				serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
				_ => {},
			}
		}
		walk(&dashboard, &mut queries);
		assert!(queries.len() >= 10, "{queries:?}");
		let exported: std::collections::BTreeSet<String> =
			get().described().into_iter().map(|(name, ..)| name).collect();
		let queried = names_in(&queries.join("\n"));
		let unknown: Vec<_> = queried.difference(&exported).collect();
		assert!(unknown.is_empty(), "the dashboard queries metrics nobody exports: {unknown:?}");
		let unused: Vec<_> = exported.difference(&queried).collect();
		assert!(unused.is_empty(), "metrics the dashboard does not chart: {unused:?}");
	}

	/// `docs/metrics.md` documents exactly the metrics the peer exports, with their types.
	#[test]
	fn the_metrics_page_lists_every_metric() {
		let page = repository_file("docs/metrics.md");
		let mut documented = std::collections::BTreeMap::new();
		for line in page.lines().filter(|l| l.starts_with("| `tessera_")) {
			let cells: Vec<&str> = line.split('|').map(str::trim).collect();
			documented.insert(
				cells[1].trim_matches('`').split('{').next().unwrap_or("").to_string(),
				cells[2].to_string(),
			);
		}
		let exported: std::collections::BTreeMap<String, String> =
			get().described().into_iter().map(|(name, _, kind)| (name, kind.to_string())).collect();
		assert_eq!(documented, exported);
	}
}
