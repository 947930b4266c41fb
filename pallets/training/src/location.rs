//! Where a peer's payloads can be read: an S3-compatible endpoint, a bucket and a key prefix
//! (DESIGN.md §3). Stored on chain for everyone to read, so it must never carry a secret: an
//! endpoint with user info (`user:pass@`) or a query string (pre-signed credentials) is refused.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{BoundedVec, traits::ConstU32};
use scale_info::TypeInfo;

/// Longest endpoint URL, in bytes.
pub const MAX_ENDPOINT_LEN: u32 = 256;
/// Longest bucket name (S3's limit).
pub const MAX_BUCKET_LEN: u32 = 63;
/// Longest key prefix, in bytes.
pub const MAX_PREFIX_LEN: u32 = 256;

/// A peer's storage location.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct StorageLocation {
	/// `http://` or `https://` URL of the S3-compatible service, without credentials.
	pub endpoint: BoundedVec<u8, ConstU32<MAX_ENDPOINT_LEN>>,
	/// Bucket name (S3 rules: 3–63 of `a-z 0-9 . -`, starting and ending alphanumeric).
	pub bucket: BoundedVec<u8, ConstU32<MAX_BUCKET_LEN>>,
	/// Key prefix, possibly empty: printable ASCII, no `..` segment, no leading `/`.
	pub prefix: BoundedVec<u8, ConstU32<MAX_PREFIX_LEN>>,
}

/// Why a storage location is refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LocationError {
	/// Not an `http(s)://host[:port][/path]` URL of printable ASCII.
	InvalidEndpoint,
	/// The endpoint carries user info or a query string: a secret would be published.
	EndpointHasCredentials,
	/// Not a valid S3 bucket name.
	InvalidBucket,
	/// Non-printable bytes, a `..` segment or a leading `/`.
	InvalidPrefix,
}

fn printable(bytes: &[u8]) -> bool {
	bytes.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// Checks every rule of a storage location.
pub fn validate(location: &StorageLocation) -> Result<(), LocationError> {
	let endpoint = &location.endpoint[..];
	let rest = endpoint
		.strip_prefix(b"https://")
		.or_else(|| endpoint.strip_prefix(b"http://"))
		.ok_or(LocationError::InvalidEndpoint)?;
	if !printable(endpoint) {
		return Err(LocationError::InvalidEndpoint);
	}
	if endpoint.iter().any(|&b| b == b'@' || b == b'?' || b == b'#') {
		return Err(LocationError::EndpointHasCredentials);
	}
	let host = rest.split(|&b| b == b'/').next().unwrap_or_default();
	let host_name = host.split(|&b| b == b':').next().unwrap_or_default();
	if host_name.is_empty() {
		return Err(LocationError::InvalidEndpoint);
	}

	let bucket = &location.bucket[..];
	let bucket_char =
		|b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'.';
	let alnum = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
	if bucket.len() < 3
		|| !bucket.iter().all(bucket_char)
		|| !alnum(bucket.first())
		|| !alnum(bucket.last())
		|| bucket.windows(2).any(|w| w == b"..")
	{
		return Err(LocationError::InvalidBucket);
	}

	let prefix = &location.prefix[..];
	if !printable(prefix)
		|| prefix.first() == Some(&b'/')
		|| prefix.split(|&b| b == b'/').any(|s| s == b"..")
	{
		return Err(LocationError::InvalidPrefix);
	}
	Ok(())
}

#[cfg(test)]
pub(crate) fn location(endpoint: &str, bucket: &str, prefix: &str) -> StorageLocation {
	StorageLocation {
		endpoint: endpoint.as_bytes().to_vec().try_into().expect("short endpoint"),
		bucket: bucket.as_bytes().to_vec().try_into().expect("short bucket"),
		prefix: prefix.as_bytes().to_vec().try_into().expect("short prefix"),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn accepts_ordinary_locations() {
		assert_eq!(validate(&location("https://s3.example.org", "tessera-grads", "")), Ok(()));
		assert_eq!(validate(&location("http://127.0.0.1:9000/", "b.c-1", "miners/alice")), Ok(()));
	}

	#[test]
	fn refuses_credentials_in_the_endpoint() {
		for e in [
			"https://key:secret@s3.example.org",
			"https://s3.example.org/?X-Amz-Credential=x",
			"https://h/#frag",
		] {
			assert_eq!(
				validate(&location(e, "bucket", "")),
				Err(LocationError::EndpointHasCredentials),
				"{e}"
			);
		}
	}

	#[test]
	fn refuses_bad_endpoints() {
		for e in ["ftp://h", "s3.example.org", "https://", "https://:9000", "https://h o"] {
			assert_eq!(
				validate(&location(e, "bucket", "")),
				Err(LocationError::InvalidEndpoint),
				"{e}"
			);
		}
	}

	#[test]
	fn refuses_bad_buckets() {
		for b in ["ab", "Bucket", "-bucket", "bucket-", "bu..cket", "bu_cket"] {
			assert_eq!(
				validate(&location("https://h", b, "")),
				Err(LocationError::InvalidBucket),
				"{b}"
			);
		}
	}

	#[test]
	fn refuses_bad_prefixes() {
		for p in ["/abs", "a/../b", "..", "with space", "tab\tx"] {
			assert_eq!(
				validate(&location("https://h", "bucket", p)),
				Err(LocationError::InvalidPrefix),
				"{p}"
			);
		}
	}
}
