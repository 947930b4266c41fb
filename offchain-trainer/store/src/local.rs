//! The local-directory backend: objects are files under a root; writes go to a temporary file
//! renamed into place, so a reader never sees half an object.

use super::{ObjectStore, StoreError};
use bytes::Bytes;
use std::path::PathBuf;

/// A directory of objects.
#[derive(Clone, Debug)]
pub struct LocalStore {
	root: PathBuf,
}

impl LocalStore {
	/// A store rooted at `root` (created on first write).
	pub fn new(root: PathBuf) -> Self {
		Self { root }
	}

	fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
		if key.is_empty()
			|| key.starts_with('/')
			|| key.split('/').any(|s| s == ".." || s.is_empty())
		{
			return Err(StoreError::BadLocation(format!("key {key:?}")));
		}
		Ok(self.root.join(key))
	}
}

fn io(path: &std::path::Path, source: std::io::Error) -> StoreError {
	StoreError::Io { path: path.display().to_string(), source }
}

impl ObjectStore for LocalStore {
	async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StoreError> {
		let path = self.path(key)?;
		if let Some(dir) = path.parent() {
			tokio::fs::create_dir_all(dir).await.map_err(|e| io(dir, e))?;
		}
		let tmp = path.with_extension(format!("partial-{}", std::process::id()));
		tokio::fs::write(&tmp, &bytes).await.map_err(|e| io(&tmp, e))?;
		tokio::fs::rename(&tmp, &path).await.map_err(|e| io(&path, e))
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
		let path = self.path(key)?;
		let meta = match tokio::fs::metadata(&path).await {
			Ok(meta) => meta,
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
				return Err(StoreError::NotFound { store: self.describe(), key: key.into() });
			},
			Err(e) => return Err(io(&path, e)),
		};
		if meta.len() > max_bytes as u64 {
			return Err(StoreError::TooLarge {
				store: self.describe(),
				key: key.into(),
				max: max_bytes,
			});
		}
		progress(0, Some(meta.len()));
		let bytes = tokio::fs::read(&path).await.map_err(|e| io(&path, e))?;
		progress(bytes.len() as u64, Some(meta.len()));
		if bytes.len() > max_bytes {
			return Err(StoreError::TooLarge {
				store: self.describe(),
				key: key.into(),
				max: max_bytes,
			});
		}
		Ok(Bytes::from(bytes))
	}

	async fn exists(&self, key: &str) -> Result<bool, StoreError> {
		let path = self.path(key)?;
		match tokio::fs::metadata(&path).await {
			Ok(meta) => Ok(meta.is_file()),
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
			Err(e) => Err(io(&path, e)),
		}
	}

	async fn delete(&self, key: &str) -> Result<(), StoreError> {
		let path = self.path(key)?;
		match tokio::fs::remove_file(&path).await {
			Ok(()) => Ok(()),
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
			Err(e) => Err(io(&path, e)),
		}
	}

	fn describe(&self) -> String {
		format!("dir {}", self.root.display())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[tokio::test]
	async fn round_trips_and_reports_missing_and_oversized_objects() {
		let dir = tempfile::tempdir().unwrap();
		let store = LocalStore::new(dir.path().join("bucket/prefix"));
		store.put("gradients/1/aa.tsr", Bytes::from_static(b"payload")).await.unwrap();
		assert_eq!(&store.get("gradients/1/aa.tsr", 100).await.unwrap()[..], b"payload");
		store.put("gradients/1/aa.tsr", Bytes::from_static(b"second")).await.unwrap();
		assert_eq!(&store.get("gradients/1/aa.tsr", 100).await.unwrap()[..], b"second");
		assert!(store.exists("gradients/1/aa.tsr").await.unwrap());
		assert!(!store.exists("gradients/1/bb.tsr").await.unwrap());
		assert!(matches!(
			store.get("gradients/1/bb.tsr", 100).await,
			Err(StoreError::NotFound { .. })
		));
		assert!(matches!(
			store.get("gradients/1/aa.tsr", 3).await,
			Err(StoreError::TooLarge { max: 3, .. })
		));
		assert!(matches!(store.get("../x", 3).await, Err(StoreError::BadLocation(_))));
		let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
		let log = seen.clone();
		let record = move |n: u64, total: Option<u64>| log.lock().unwrap().push((n, total));
		store.get_with_progress("gradients/1/aa.tsr", 100, &record).await.unwrap();
		assert_eq!(seen.lock().unwrap().last(), Some(&(6, Some(6))));
		store.delete("gradients/1/aa.tsr").await.unwrap();
		assert!(!store.exists("gradients/1/aa.tsr").await.unwrap());
		// Deleting what is not there succeeds.
		store.delete("gradients/1/aa.tsr").await.unwrap();
	}
}
