//! The S3 backend against a real S3-compatible server (s3s-fs, in-process, on a loopback port
//! chosen at run time), and against stores that are down or stall.

use bytes::Bytes;
use std::time::{Duration, Instant};
use tessera_store::{
	Location, ObjectStore, Resolver, S3Credentials, S3Limits, S3Store, StoreError,
};
use tessera_trainer::devnet::s3::S3Server;
use tokio::net::TcpListener;

const ACCESS: &str = "tessera-test";
const SECRET: &str = "tessera-test-secret";

fn credentials() -> Option<S3Credentials> {
	Some(S3Credentials { access_key: ACCESS.into(), secret_key: SECRET.into() })
}

fn quick() -> S3Limits {
	S3Limits {
		attempts: 3,
		initial_backoff: Duration::from_millis(50),
		attempt_timeout: Duration::from_millis(600),
		connect_timeout: Duration::from_millis(300),
	}
}

#[tokio::test]
async fn round_trip_through_a_real_s3_server() {
	let dir = tempfile::tempdir().unwrap();
	let server = S3Server::start(dir.path(), ACCESS, SECRET).await.unwrap();
	let endpoint = server.endpoint().to_string();
	let location = Location { endpoint, bucket: "tessera".into(), prefix: "alice".into() };
	let resolver = Resolver::S3 {
		own: credentials().map(|c| (location.clone(), c)),
		read: None,
		limits: quick(),
		allow_private: true,
	};
	let store = match resolver.open(&location).unwrap() {
		tessera_store::Store::S3(s) => s,
		other => panic!("expected S3, got {other:?}"),
	};
	store.create_bucket().await.unwrap();
	store.create_bucket().await.unwrap(); // idempotent

	let payload = Bytes::from((0..100_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
	store.put("gradients/3/aa.tsr", payload.clone()).await.unwrap();
	assert_eq!(store.get("gradients/3/aa.tsr", 1 << 20).await.unwrap(), payload);
	// The prefix is part of the object's key on the server.
	assert!(dir.path().join("tessera/alice/gradients/3/aa.tsr").exists());

	let err = store.get("gradients/3/bb.tsr", 1 << 20).await.unwrap_err();
	assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
	assert!(store.exists("gradients/3/aa.tsr").await.unwrap());
	assert!(!store.exists("gradients/3/bb.tsr").await.unwrap());
	let err = store.get("gradients/3/aa.tsr", 1000).await.unwrap_err();
	assert!(matches!(err, StoreError::TooLarge { max: 1000, .. }), "{err}");

	// Wrong credentials: refused, not retried forever.
	let wrong = S3Store::new(
		&location.endpoint,
		"tessera",
		"alice",
		Some(S3Credentials { access_key: ACCESS.into(), secret_key: "wrong".into() }),
		quick(),
	)
	.unwrap();
	let err = wrong.get("gradients/3/aa.tsr", 1 << 20).await.unwrap_err();
	assert!(matches!(err, StoreError::Refused { .. }), "{err}");
	drop(server);
}

#[tokio::test]
async fn a_store_that_is_down_fails_within_the_deadline() {
	// A port that was just free: nothing listens there.
	let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
	let store =
		S3Store::new(&format!("http://127.0.0.1:{port}"), "tessera", "", credentials(), quick())
			.unwrap();
	let started = Instant::now();
	let err = store.put("gradients/1/aa.tsr", Bytes::from_static(b"x")).await.unwrap_err();
	assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
	assert!(started.elapsed() <= quick().total_deadline() + Duration::from_secs(2));
}

#[tokio::test]
async fn a_store_that_stalls_fails_within_the_deadline() {
	// Accepts connections and never answers.
	let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap();
	let stall = tokio::spawn(async move {
		let mut held = Vec::new();
		while let Ok((stream, _)) = listener.accept().await {
			held.push(stream);
		}
	});
	let store =
		S3Store::new(&format!("http://{addr}"), "tessera", "", credentials(), quick()).unwrap();
	let started = Instant::now();
	let err = store.get("gradients/1/aa.tsr", 1 << 20).await.unwrap_err();
	assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
	let elapsed = started.elapsed();
	assert!(elapsed >= quick().attempt_timeout, "it must have waited for an attempt: {elapsed:?}");
	assert!(elapsed <= quick().total_deadline() + Duration::from_secs(2), "{elapsed:?}");
	stall.abort();
}

#[test]
fn credentials_never_appear_in_debug_output() {
	let shown = format!("{:?}", credentials());
	assert!(shown.contains(ACCESS) && !shown.contains(SECRET), "{shown}");
}
