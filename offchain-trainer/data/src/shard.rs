//! The token shard (`tokens.bin`, little-endian u16 ids), memory-mapped read-only and checked
//! against its manifest (length and BLAKE2b-256 digest) when opened.

use super::{CorpusManifest, DataError};
use blake2::{Blake2b, Digest, digest::consts::U32};
use memmap2::Mmap;
use std::path::Path;

/// An opened, verified corpus.
pub struct TokenShard {
	manifest: CorpusManifest,
	map: Mmap,
}

impl TokenShard {
	/// Opens the corpus in `dir` and verifies `tokens.bin` against `corpus.json`.
	pub fn open(dir: &Path) -> Result<Self, DataError> {
		let manifest = CorpusManifest::load(dir)?;
		let path = dir.join("tokens.bin");
		let shown = path.display().to_string();
		let file = std::fs::File::open(&path).map_err(|source| DataError::Io {
			what: "cannot open token shard",
			path: shown.clone(),
			source,
		})?;
		// SAFETY: the map is read-only and private to this process; the corpus files are written
		// once by `build_corpus` and never modified in place while a peer runs. A concurrent
		// writer could at worst change the ids read (caught by the digest check below at open).
		#[allow(unsafe_code)]
		let map = unsafe { Mmap::map(&file) }.map_err(|source| DataError::Io {
			what: "cannot map token shard",
			path: shown.clone(),
			source,
		})?;
		let shard_err = |message: String| DataError::Shard { path: shown.clone(), message };
		if map.len() as u64 != manifest.tokens * 2 {
			return Err(shard_err(format!(
				"{} bytes, the manifest says {} tokens",
				map.len(),
				manifest.tokens
			)));
		}
		if manifest.train_tokens > manifest.tokens {
			return Err(shard_err("the training split is longer than the shard".into()));
		}
		let digest = hex::encode(Blake2b::<U32>::digest(&map[..]));
		if digest != manifest.dataset_digest {
			return Err(shard_err(format!(
				"digest {digest} differs from the manifest's {} (corrupt or replaced)",
				manifest.dataset_digest
			)));
		}
		Ok(Self { manifest, map })
	}

	/// The manifest.
	pub fn manifest(&self) -> &CorpusManifest {
		&self.manifest
	}

	/// Tokens in the training split.
	pub fn train_tokens(&self) -> u64 {
		self.manifest.train_tokens
	}

	/// `len` tokens from position `start`.
	pub fn tokens(&self, start: u64, len: usize) -> Result<Vec<u16>, DataError> {
		let end = start.saturating_add(len as u64);
		if end > self.manifest.tokens {
			return Err(DataError::Shard {
				path: "tokens.bin".into(),
				message: format!(
					"tokens {start}..{end} are past the end ({})",
					self.manifest.tokens
				),
			});
		}
		let bytes = &self.map[(start * 2) as usize..(end * 2) as usize];
		Ok(bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
	}

	/// The held-out split as consecutive rows of `len` tokens (at most `max_rows`).
	pub fn held_out_rows(&self, len: usize, max_rows: usize) -> Result<Vec<Vec<u16>>, DataError> {
		let start = self.manifest.train_tokens;
		let available = (self.manifest.tokens - start) / len.max(1) as u64;
		(0..available.min(max_rows as u64))
			.map(|r| self.tokens(start + r * len as u64, len))
			.collect()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{build_corpus, corpus::tests::fake_archive};

	#[test]
	fn opens_a_built_corpus_and_refuses_a_corrupted_one() {
		let dir = tempfile::tempdir().unwrap();
		let out = dir.path().join("corpus");
		let manifest = build_corpus(&fake_archive(dir.path()), &out, 300, None).unwrap();
		let shard = TokenShard::open(&out).unwrap();
		assert_eq!(shard.tokens(0, 5).unwrap().len(), 5);
		assert!(shard.tokens(manifest.tokens - 2, 5).is_err());
		assert!(!shard.held_out_rows(17, 4).unwrap().is_empty());
		drop(shard);

		let path = out.join("tokens.bin");
		let mut bytes = std::fs::read(&path).unwrap();
		bytes[10] ^= 1;
		std::fs::write(&path, &bytes).unwrap();
		let err = TokenShard::open(&out).err().unwrap();
		assert!(err.to_string().contains("corrupt"), "{err}");
		bytes.truncate(bytes.len() - 2);
		std::fs::write(&path, &bytes).unwrap();
		let err = TokenShard::open(&out).err().unwrap();
		assert!(err.to_string().contains("manifest says"), "{err}");
	}
}
