//! The S3 backend (aws-sdk-s3): any S3-compatible service at a custom endpoint, path-style
//! addressing, checksums only where the service requires them (many S3-compatible servers reject
//! the SDK's default trailing checksums). Retries and deadlines are the SDK's own, bounded by
//! [`S3Limits`]: a store that is down or stalls yields [`StoreError::Unavailable`] after at most
//! `attempts × attempt_timeout` plus backoff, never a hang.

use super::{ObjectStore, StoreError};
use aws_sdk_s3::{
	Client,
	config::{
		BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
		ResponseChecksumValidation, retry::RetryConfig, timeout::TimeoutConfig,
	},
	error::SdkError,
	primitives::ByteStream,
};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use bytes::{Bytes, BytesMut};
use std::{fmt, time::Duration};

/// An access key pair. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
	/// Access key id.
	pub access_key: String,
	/// Secret access key.
	pub secret_key: String,
}

impl fmt::Debug for S3Credentials {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		f.debug_struct("S3Credentials")
			.field("access_key", &self.access_key)
			.field("secret_key", &"<redacted>")
			.finish()
	}
}

/// Retry and deadline settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct S3Limits {
	/// Attempts per request (first try included).
	pub attempts: u32,
	/// Backoff before the first retry (doubling, with jitter, up to 8×).
	pub initial_backoff: Duration,
	/// Deadline of one attempt.
	pub attempt_timeout: Duration,
	/// Deadline to open a connection.
	pub connect_timeout: Duration,
}

impl Default for S3Limits {
	fn default() -> Self {
		Self {
			attempts: 4,
			initial_backoff: Duration::from_millis(250),
			attempt_timeout: Duration::from_secs(60),
			connect_timeout: Duration::from_secs(5),
		}
	}
}

impl S3Limits {
	/// The longest one request can take, retries included.
	pub fn total_deadline(&self) -> Duration {
		let backoff = self.initial_backoff * 8 * self.attempts;
		self.attempt_timeout * self.attempts + backoff
	}
}

/// A bucket (and key prefix) on an S3-compatible service.
#[derive(Clone, Debug)]
pub struct S3Store {
	client: Client,
	endpoint: String,
	bucket: String,
	prefix: String,
	signed: bool,
}

impl S3Store {
	/// A store at `endpoint` (`http(s)://host[:port]`), signed with `credentials` or anonymous.
	pub fn new(
		endpoint: &str,
		bucket: &str,
		prefix: &str,
		credentials: Option<S3Credentials>,
		limits: S3Limits,
	) -> Result<Self, StoreError> {
		if !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
			|| endpoint.contains('@')
		{
			return Err(StoreError::BadLocation(format!("endpoint {endpoint:?}")));
		}
		let http = aws_smithy_http_client::Builder::new()
			.tls_provider(Provider::Rustls(CryptoMode::Ring))
			.build_https();
		let mut config = aws_sdk_s3::Config::builder()
			.behavior_version(BehaviorVersion::latest())
			.endpoint_url(endpoint)
			.region(Region::new("us-east-1"))
			.force_path_style(true)
			.http_client(http)
			.request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
			.response_checksum_validation(ResponseChecksumValidation::WhenRequired)
			.retry_config(
				RetryConfig::standard()
					.with_max_attempts(limits.attempts.max(1))
					.with_initial_backoff(limits.initial_backoff)
					.with_max_backoff(limits.initial_backoff * 8),
			)
			.timeout_config(
				TimeoutConfig::builder()
					.connect_timeout(limits.connect_timeout)
					.operation_attempt_timeout(limits.attempt_timeout)
					.operation_timeout(limits.total_deadline())
					.build(),
			);
		let signed = credentials.is_some();
		config = match credentials {
			Some(c) => config.credentials_provider(Credentials::new(
				c.access_key,
				c.secret_key,
				None,
				None,
				"tessera",
			)),
			None => config.allow_no_auth(),
		};
		Ok(Self {
			client: Client::from_conf(config.build()),
			endpoint: endpoint.into(),
			bucket: bucket.into(),
			prefix: prefix.trim_end_matches('/').into(),
			signed,
		})
	}

	/// Whether requests are signed with credentials (else anonymous).
	pub fn is_signed(&self) -> bool {
		self.signed
	}

	fn full_key(&self, key: &str) -> String {
		if self.prefix.is_empty() { key.into() } else { format!("{}/{key}", self.prefix) }
	}

	/// Creates the bucket (for a fresh local S3 server; real deployments create it themselves).
	pub async fn create_bucket(&self) -> Result<(), StoreError> {
		match self.client.create_bucket().bucket(&self.bucket).send().await {
			Ok(_) => Ok(()),
			Err(e)
				if e.as_service_error().is_some_and(|s| {
					s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
				}) =>
			{
				Ok(())
			},
			Err(e) => Err(self.classify(&self.bucket, e)),
		}
	}

	fn classify<E, R>(&self, key: &str, err: SdkError<E, R>) -> StoreError
	where
		E: std::error::Error + Send + Sync + 'static,
		R: fmt::Debug,
	{
		let store = self.describe();
		let key = key.to_string();
		let message = aws_sdk_s3::error::DisplayErrorContext(&err).to_string();
		match &err {
			SdkError::ServiceError(_) => StoreError::Refused { store, key, message },
			_ => StoreError::Unavailable { store, key, message },
		}
	}
}

impl ObjectStore for S3Store {
	async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StoreError> {
		let full = self.full_key(key);
		self.client
			.put_object()
			.bucket(&self.bucket)
			.key(&full)
			.body(ByteStream::from(bytes))
			.send()
			.await
			.map(|_| ())
			.map_err(|e| self.classify(&full, e))
	}

	async fn get(&self, key: &str, max_bytes: usize) -> Result<Bytes, StoreError> {
		self.get_with_progress(key, max_bytes, &|_, _| {}).await
	}

	async fn get_with_progress(
		&self,
		key: &str,
		max_bytes: usize,
		progress: &crate::Progress,
	) -> Result<Bytes, StoreError> {
		let full = self.full_key(key);
		let out = match self.client.get_object().bucket(&self.bucket).key(&full).send().await {
			Ok(out) => out,
			Err(e) => {
				let missing = e.as_service_error().is_some_and(|s| s.is_no_such_key())
					|| e.raw_response().is_some_and(|r| r.status().as_u16() == 404);
				if missing {
					return Err(StoreError::NotFound { store: self.describe(), key: full });
				}
				return Err(self.classify(&full, e));
			},
		};
		let too_large =
			|| StoreError::TooLarge { store: self.describe(), key: full.clone(), max: max_bytes };
		if out.content_length().is_some_and(|n| n < 0 || n as u64 > max_bytes as u64) {
			return Err(too_large());
		}
		let total = out.content_length().and_then(|n| u64::try_from(n).ok());
		progress(0, total);
		let mut body = out.body;
		let mut buf = BytesMut::new();
		loop {
			match body.try_next().await {
				Ok(Some(chunk)) => {
					if buf.len() + chunk.len() > max_bytes {
						return Err(too_large());
					}
					buf.extend_from_slice(&chunk);
					progress(buf.len() as u64, total);
				},
				Ok(None) => break,
				Err(e) => {
					return Err(StoreError::Unavailable {
						store: self.describe(),
						key: full.clone(),
						message: e.to_string(),
					});
				},
			}
		}
		Ok(buf.freeze())
	}

	async fn exists(&self, key: &str) -> Result<bool, StoreError> {
		let full = self.full_key(key);
		match self.client.head_object().bucket(&self.bucket).key(&full).send().await {
			Ok(_) => Ok(true),
			Err(e) => {
				let missing = e.as_service_error().is_some_and(|s| s.is_not_found())
					|| e.raw_response().is_some_and(|r| r.status().as_u16() == 404);
				if missing { Ok(false) } else { Err(self.classify(&full, e)) }
			},
		}
	}

	async fn delete(&self, key: &str) -> Result<(), StoreError> {
		let full = self.full_key(key);
		// S3 answers a delete of a missing key with success.
		self.client
			.delete_object()
			.bucket(&self.bucket)
			.key(&full)
			.send()
			.await
			.map(|_| ())
			.map_err(|e| self.classify(&full, e))
	}

	fn describe(&self) -> String {
		format!("s3 {}/{}", self.endpoint, self.bucket)
	}
}
