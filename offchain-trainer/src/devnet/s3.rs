//! A real S3-compatible server in-process: s3s-fs (S3 over HTTP on a directory, each bucket a
//! subdirectory) on a loopback port chosen at start, with one access key. The devnet's
//! `--s3` store and the tests' S3 server. Stopped when dropped.

use std::path::Path;
use tokio::net::TcpListener;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum S3ServerError {
	/// The directory cannot be served.
	#[error("s3s-fs at {path}: {message}")]
	Root {
		/// The directory.
		path: String,
		/// Why.
		message: String,
	},
	/// No port could be bound.
	#[error("binding a loopback port: {0}")]
	Bind(#[from] std::io::Error),
}

/// A running server.
pub struct S3Server {
	endpoint: String,
	task: tokio::task::JoinHandle<()>,
}

impl S3Server {
	/// Serves `root` to clients signing with `access_key` / `secret_key`.
	pub async fn start(
		root: &Path,
		access_key: &str,
		secret_key: &str,
	) -> Result<Self, S3ServerError> {
		std::fs::create_dir_all(root)?;
		let fs = s3s_fs::FileSystem::new(root).map_err(|e| S3ServerError::Root {
			path: root.display().to_string(),
			message: format!("{e:?}"),
		})?;
		let mut builder = s3s::service::S3ServiceBuilder::new(fs);
		builder.set_auth(s3s::auth::SimpleAuth::from_single(access_key, secret_key));
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
