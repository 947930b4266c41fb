//! # tessera-store
//!
//! Owns object storage for payloads and checkpoints: one trait, [`ObjectStore`], and two
//! backends — a local directory ([`LocalStore`], the embedded default, for a network on one
//! machine) and S3 through aws-sdk-s3 ([`S3Store`]: custom endpoint, path-style, checksums only
//! when required, bounded retries with backoff and a deadline per request). [`Resolver`] turns a
//! peer's on-chain location into the store its objects are read from or written to.
//!
//! Key layout (DESIGN.md §2): `{prefix}/gradients/{window}/{account}.tsr` for payloads,
//! `{prefix}/checkpoints/{window}.safetensors` for checkpoints.

pub mod endpoint;
pub mod local;
pub mod s3;

pub use local::LocalStore;
pub use s3::{S3Credentials, S3Limits, S3Store};

use bytes::Bytes;
use std::{future::Future, path::PathBuf};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
	/// No object under the key.
	#[error("{store}: no object at {key}")]
	NotFound {
		/// The store.
		store: String,
		/// The key.
		key: String,
	},
	/// The object is larger than the caller accepts; nothing beyond the cap was read.
	#[error("{store}: object {key} is larger than {max} bytes")]
	TooLarge {
		/// The store.
		store: String,
		/// The key.
		key: String,
		/// The cap.
		max: usize,
	},
	/// The store could not be reached or did not answer in time, after the retries.
	#[error("{store}: {key} unavailable: {message}")]
	Unavailable {
		/// The store.
		store: String,
		/// The key.
		key: String,
		/// Last error.
		message: String,
	},
	/// The store answered with an error (denied, bad request, …).
	#[error("{store}: {key} refused: {message}")]
	Refused {
		/// The store.
		store: String,
		/// The key.
		key: String,
		/// The service's error.
		message: String,
	},
	/// A local file operation failed.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: String,
		/// Why.
		source: std::io::Error,
	},
	/// The location cannot be used (bad endpoint, bucket or prefix).
	#[error("unusable storage location: {0}")]
	BadLocation(String),
}

/// Reads and writes whole objects.
pub trait ObjectStore: Send + Sync {
	/// Stores `bytes` under `key` (replacing any object there).
	fn put(&self, key: &str, bytes: Bytes) -> impl Future<Output = Result<(), StoreError>> + Send;
	/// Reads the object under `key`, refusing one larger than `max_bytes`.
	fn get(
		&self,
		key: &str,
		max_bytes: usize,
	) -> impl Future<Output = Result<Bytes, StoreError>> + Send;
	/// [`ObjectStore::get`], calling `progress(bytes read, total when known)` as bytes arrive.
	fn get_with_progress(
		&self,
		key: &str,
		max_bytes: usize,
		progress: &Progress,
	) -> impl Future<Output = Result<Bytes, StoreError>> + Send;
	/// Whether an object exists under `key` (a metadata request; nothing is downloaded).
	fn exists(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
	/// Deletes the object under `key`; deleting what is not there succeeds.
	fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
	/// A short description for logs.
	fn describe(&self) -> String;
}

/// Told `(bytes read, total when known)` while an object downloads.
pub type Progress = dyn Fn(u64, Option<u64>) + Send + Sync;

/// A peer's storage location as recorded on chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
	/// `http(s)://` endpoint.
	pub endpoint: String,
	/// Bucket.
	pub bucket: String,
	/// Key prefix (may be empty).
	pub prefix: String,
}

/// Either backend.
#[derive(Clone, Debug)]
pub enum Store {
	/// A local directory.
	Local(LocalStore),
	/// An S3-compatible service.
	S3(S3Store),
}

impl ObjectStore for Store {
	async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StoreError> {
		match self {
			Store::Local(s) => s.put(key, bytes).await,
			Store::S3(s) => s.put(key, bytes).await,
		}
	}

	async fn get(&self, key: &str, max_bytes: usize) -> Result<Bytes, StoreError> {
		match self {
			Store::Local(s) => s.get(key, max_bytes).await,
			Store::S3(s) => s.get(key, max_bytes).await,
		}
	}

	async fn get_with_progress(
		&self,
		key: &str,
		max_bytes: usize,
		progress: &Progress,
	) -> Result<Bytes, StoreError> {
		match self {
			Store::Local(s) => s.get_with_progress(key, max_bytes, progress).await,
			Store::S3(s) => s.get_with_progress(key, max_bytes, progress).await,
		}
	}

	async fn exists(&self, key: &str) -> Result<bool, StoreError> {
		match self {
			Store::Local(s) => s.exists(key).await,
			Store::S3(s) => s.exists(key).await,
		}
	}

	async fn delete(&self, key: &str) -> Result<(), StoreError> {
		match self {
			Store::Local(s) => s.delete(key).await,
			Store::S3(s) => s.delete(key).await,
		}
	}

	fn describe(&self) -> String {
		match self {
			Store::Local(s) => s.describe(),
			Store::S3(s) => s.describe(),
		}
	}
}

/// How on-chain locations map to stores.
// One resolver per peer, cloned per request: the size of the S3 variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Resolver {
	/// Every location is the directory `root/{bucket}/{prefix}`: all peers on one machine share
	/// `root` as the network's object storage (the devnet's default).
	Local {
		/// The shared directory.
		root: PathBuf,
	},
	/// Every location is its S3 endpoint and bucket.
	S3 {
		/// The peer's own location and the credentials that sign requests to it (and only to
		/// it: the key id never goes to another peer's endpoint).
		own: Option<(Location, S3Credentials)>,
		/// Credentials for reading every other location; anonymous when absent (public-read
		/// buckets, the default).
		read: Option<S3Credentials>,
		/// Retry and deadline settings.
		limits: S3Limits,
		/// Whether others' endpoints may be loopback, private or link-local addresses (a
		/// network on one machine or a LAN). Without it they are refused, so a peer cannot
		/// make others send requests into their own networks.
		allow_private: bool,
	},
}

impl Resolver {
	/// The store behind `location`.
	pub fn open(&self, location: &Location) -> Result<Store, StoreError> {
		check_key_part("bucket", &location.bucket)?;
		if location.bucket.is_empty() || location.bucket.contains('/') {
			return Err(StoreError::BadLocation(format!("bucket {:?}", location.bucket)));
		}
		check_key_part("prefix", &location.prefix)?;
		match self {
			Resolver::Local { root } => Ok(Store::Local(LocalStore::new(
				root.join(&location.bucket).join(location.prefix.trim_end_matches('/')),
			))),
			Resolver::S3 { own, read, limits, allow_private } => {
				let credentials = match own {
					Some((mine, credentials)) if mine == location => Some(credentials.clone()),
					_ => {
						if !allow_private {
							endpoint::check_public(&location.endpoint)?;
						}
						read.clone()
					},
				};
				Ok(Store::S3(S3Store::new(
					&location.endpoint,
					&location.bucket,
					&location.prefix,
					credentials,
					*limits,
				)?))
			},
		}
	}
}

/// Refuses a bucket or prefix that could escape its directory or carries odd bytes (locations
/// come from other peers through the chain).
fn check_key_part(what: &str, value: &str) -> Result<(), StoreError> {
	let bad = value.starts_with('/')
		|| value.split('/').any(|s| s == ".." || s == ".")
		|| !value.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'\\');
	if bad {
		return Err(StoreError::BadLocation(format!("{what} {value:?}")));
	}
	Ok(())
}

/// Key of `account`'s payload for `window` (`account` as hex, no `0x`).
pub fn gradient_key(window: u64, account: &[u8; 32]) -> String {
	format!("gradients/{window}/{}.tsr", hex::encode(account))
}

/// Key of the checkpoint taken after `window`.
pub fn checkpoint_key(window: u64) -> String {
	format!("checkpoints/{window}.safetensors")
}

#[cfg(test)]
mod tests {
	use super::*;

	fn location(bucket: &str, prefix: &str) -> Location {
		Location {
			endpoint: "http://127.0.0.1:9000".into(),
			bucket: bucket.into(),
			prefix: prefix.into(),
		}
	}

	#[test]
	fn locations_that_could_escape_the_store_are_refused() {
		let resolver = Resolver::Local { root: "/tmp/x".into() };
		for (bucket, prefix) in [
			("tessera", "../etc"),
			("tessera", "/abs"),
			("..", "p"),
			("a/b", "p"),
			("tessera", "a/./b"),
			("tessera", "a\\b"),
		] {
			let err = resolver.open(&location(bucket, prefix)).unwrap_err();
			assert!(matches!(err, StoreError::BadLocation(_)), "{bucket} {prefix}");
		}
		assert!(resolver.open(&location("tessera", "alice/runs")).is_ok());
		assert!(resolver.open(&location("tessera", "")).is_ok());
	}

	fn s3(allow_private: bool) -> Resolver {
		let key = |k: &str| S3Credentials { access_key: k.into(), secret_key: "secret".into() };
		Resolver::S3 {
			own: Some((location("tessera", "me"), key("mine"))),
			read: None,
			limits: S3Limits::default(),
			allow_private,
		}
	}

	fn other(endpoint: &str) -> Location {
		Location { endpoint: endpoint.into(), bucket: "tessera".into(), prefix: "them".into() }
	}

	/// Issue 17 item 12: the peer's own key signs requests to its own location only; others'
	/// stores are read anonymously (or with separate read credentials).
	#[test]
	fn own_credentials_never_sign_requests_to_others() {
		let resolver = s3(true);
		let Store::S3(mine) = resolver.open(&location("tessera", "me")).unwrap() else {
			panic!("an S3 store")
		};
		assert!(mine.is_signed());
		let Store::S3(theirs) = resolver.open(&other("http://127.0.0.1:9000")).unwrap() else {
			panic!("an S3 store")
		};
		assert!(!theirs.is_signed(), "another peer's endpoint never sees our key id");
	}

	/// Issue 17 item 12: another peer's loopback, private or link-local endpoint is refused
	/// unless the network allows it (one machine, a LAN); the own location always works.
	#[test]
	fn private_endpoints_of_others_are_refused_unless_allowed() {
		let strict = s3(false);
		for endpoint in [
			"http://127.0.0.1:9000",
			"http://localhost:9000",
			"http://10.1.2.3",
			"http://172.16.0.1:80",
			"http://192.168.1.10:9000",
			"http://169.254.169.254",
			"http://100.64.0.1",
			"http://0.0.0.0:9000",
			"http://[::1]:9000",
			"http://[fe80::1]",
			"http://[fd00::5]:443",
			"http://[::ffff:10.0.0.1]",
			"http://2130706433:9000",
			"http://127.1",
			"http://0x7f.0.0.1",
			"http://[::7f00:1]",
			"http://[64:ff9b::a00:1]",
			"http://[2002:c0a8:101::1]",
		] {
			let err = strict.open(&other(endpoint)).unwrap_err();
			assert!(matches!(err, StoreError::BadLocation(_)), "{endpoint}");
		}
		for endpoint in [
			"https://s3.example.org",
			"http://8.8.8.8:9000",
			"https://[2001:db8::1]",
			"https://s3.eu-west-1.amazonaws.com",
			"https://cafe.example",
		] {
			assert!(strict.open(&other(endpoint)).is_ok(), "{endpoint}");
		}
		assert!(strict.open(&location("tessera", "me")).is_ok(), "the own location");
		assert!(s3(true).open(&other("http://127.0.0.1:9000")).is_ok());
	}

	#[test]
	fn keys_follow_the_documented_layout() {
		assert_eq!(gradient_key(7, &[0xab; 32]), format!("gradients/7/{}.tsr", "ab".repeat(32)));
		assert_eq!(checkpoint_key(12), "checkpoints/12.safetensors");
	}
}
