//! # tessera-data
//!
//! Owns the training data: the corpus built locally from public-domain text shipped in a registry
//! package ([`corpus`]), its BPE tokenizer ([`tokenizer`]), the memory-mapped token shard
//! ([`shard`]) and the pure function that gives each miner its slice of it for a window
//! ([`slice`]).

pub mod corpus;
pub mod shard;
pub mod slice;
pub mod tokenizer;

pub use corpus::{CorpusManifest, build_corpus};
pub use shard::TokenShard;
pub use slice::{DataSlice, SliceSpec, assigned_slice, random_slice};

/// Errors of building or reading the corpus.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
	/// A file could not be read or written.
	#[error("{what} {path}: {source}")]
	Io {
		/// What was being done.
		what: &'static str,
		/// The file.
		path: String,
		/// Why it failed.
		source: std::io::Error,
	},
	/// The source archive is not the pinned one.
	#[error("source archive {path} has SHA-256 {got}, expected {expected}")]
	SourceDigest {
		/// The archive.
		path: String,
		/// Its digest.
		got: String,
		/// The pinned digest.
		expected: String,
	},
	/// The source archive holds none of the expected texts.
	#[error("source archive {0} contains no texts to build a corpus from")]
	NoTexts(String),
	/// Tokenizer training, loading or encoding failed.
	#[error("tokenizer: {0}")]
	Tokenizer(String),
	/// The tokenizer's vocabulary does not fit u16 token ids or the model.
	#[error("tokenizer vocabulary of {got} does not match the expected {expected}")]
	Vocab {
		/// The tokenizer's size.
		got: usize,
		/// The size required.
		expected: usize,
	},
	/// The manifest is malformed.
	#[error("corpus manifest {path}: {message}")]
	Manifest {
		/// The file.
		path: String,
		/// What is wrong.
		message: String,
	},
	/// The token shard does not match its manifest.
	#[error("token shard {path}: {message}")]
	Shard {
		/// The file.
		path: String,
		/// What is wrong.
		message: String,
	},
	/// The shard is too short for the requested slices.
	#[error("the training split has {tokens} tokens, too few for sequences of {seq_len}")]
	TooShort {
		/// Tokens available.
		tokens: u64,
		/// Sequence length requested.
		seq_len: usize,
	},
}
