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
	/// Whether an object exists under `key` (a metadata request; nothing is downloaded).
	fn exists(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
	/// A short description for logs.
	fn describe(&self) -> String;
}

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

	async fn exists(&self, key: &str) -> Result<bool, StoreError> {
		match self {
			Store::Local(s) => s.exists(key).await,
			Store::S3(s) => s.exists(key).await,
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
#[derive(Clone, Debug)]
pub enum Resolver {
	/// Every location is the directory `root/{bucket}/{prefix}`: all peers on one machine share
	/// `root` as the network's object storage (the devnet's default).
	Local {
		/// The shared directory.
		root: PathBuf,
	},
	/// Every location is its S3 endpoint and bucket; `credentials` sign the requests (anonymous
	/// when absent, for public-read buckets).
	S3 {
		/// Access key pair.
		credentials: Option<S3Credentials>,
		/// Retry and deadline settings.
		limits: S3Limits,
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
			Resolver::S3 { credentials, limits } => Ok(Store::S3(S3Store::new(
				&location.endpoint,
				&location.bucket,
				&location.prefix,
				credentials.clone(),
				*limits,
			)?)),
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

	#[test]
	fn keys_follow_the_documented_layout() {
		assert_eq!(gradient_key(7, &[0xab; 32]), format!("gradients/7/{}.tsr", "ab".repeat(32)));
		assert_eq!(checkpoint_key(12), "checkpoints/12.safetensors");
	}
}
