//! A real S3-compatible server for tests: the devnet's in-process s3s-fs server on a loopback
//! port chosen at run time, with one access key.

use std::path::Path;

/// Access key id the test server accepts.
pub const ACCESS_KEY: &str = "tessera-e2e";
/// Its secret.
pub const SECRET_KEY: &str = "tessera-e2e-secret";

/// A running server; stopped on drop.
pub struct S3Server(tessera_trainer::devnet::s3::S3Server);

impl S3Server {
	/// Serves the directory `root` (each bucket a subdirectory).
	pub async fn start(root: &Path) -> anyhow::Result<Self> {
		Ok(Self(tessera_trainer::devnet::s3::S3Server::start(root, ACCESS_KEY, SECRET_KEY).await?))
	}

	/// `http://127.0.0.1:PORT`.
	pub fn endpoint(&self) -> &str {
		self.0.endpoint()
	}
}
