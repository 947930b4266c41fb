//! A real S3-compatible server for tests: s3s-fs (S3 over HTTP on a file system) in-process,
//! on a loopback port chosen at run time, with one access key.

use std::path::Path;
use tokio::net::TcpListener;

/// Access key id the test server accepts.
pub const ACCESS_KEY: &str = "tessera-e2e";
/// Its secret.
pub const SECRET_KEY: &str = "tessera-e2e-secret";

/// A running server; stopped on drop.
pub struct S3Server {
	endpoint: String,
	task: tokio::task::JoinHandle<()>,
}

impl S3Server {
	/// Serves the directory `root` (each bucket a subdirectory).
	pub async fn start(root: &Path) -> anyhow::Result<Self> {
		std::fs::create_dir_all(root)?;
		let fs = s3s_fs::FileSystem::new(root)
			.map_err(|e| anyhow::anyhow!("s3s-fs at {}: {e:?}", root.display()))?;
		let mut builder = s3s::service::S3ServiceBuilder::new(fs);
		builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
		let service = builder.build();
		let listener = TcpListener::bind("127.0.0.1:0").await?;
		let endpoint = format!("http://{}", listener.local_addr()?);
		let task = tokio::spawn(async move {
			while let Ok((stream, _)) = listener.accept().await {
				let service = service.clone();
				tokio::spawn(async move {
					let _ = hyper_util::server::conn::auto::Builder::new(
						hyper_util::rt::TokioExecutor::new(),
					)
					.serve_connection(hyper_util::rt::TokioIo::new(stream), service)
					.await;
				});
			}
		});
		Ok(Self { endpoint, task })
	}

	/// `http://127.0.0.1:PORT`.
	pub fn endpoint(&self) -> &str {
		&self.endpoint
	}
}

impl Drop for S3Server {
	fn drop(&mut self) {
		self.task.abort();
	}
}
