//! The BPE tokenizer: trained locally (byte-level BPE, the `tokenizers` crate, serial and so
//! deterministic) on the corpus' own texts; saved as `tokenizer.json` next to the shard.

use super::DataError;
use std::{collections::HashSet, path::Path};
use tokenizers::{
	AddedToken, Tokenizer,
	models::{
		TrainerWrapper,
		bpe::{BPE, BpeTrainerBuilder},
	},
	pre_tokenizers::byte_level::ByteLevel,
};

/// The document separator token (id 0... assigned first, so it is always the same id).
pub const END_OF_TEXT: &str = "<|endoftext|>";

fn err(e: impl std::fmt::Display) -> DataError {
	DataError::Tokenizer(e.to_string())
}

/// Trains a byte-level BPE tokenizer with exactly `vocab_size` entries on `docs`.
pub fn train(docs: &[String], vocab_size: usize) -> Result<Tokenizer, DataError> {
	let alphabet: HashSet<char> = ByteLevel::alphabet().into_iter().collect();
	let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
		.vocab_size(vocab_size)
		.min_frequency(2)
		.show_progress(false)
		.initial_alphabet(alphabet)
		.special_tokens(vec![AddedToken::from(END_OF_TEXT, true)])
		.build()
		.into();
	let mut tokenizer = Tokenizer::new(BPE::default());
	tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
	tokenizer.with_decoder(Some(ByteLevel::default()));
	tokenizer.train(&mut trainer, docs.iter()).map_err(err)?;
	let got = tokenizer.get_vocab_size(true);
	if got != vocab_size {
		return Err(DataError::Vocab { got, expected: vocab_size });
	}
	Ok(tokenizer)
}

/// Encodes `text` to u16 ids.
pub fn encode(tokenizer: &Tokenizer, text: &str) -> Result<Vec<u16>, DataError> {
	let encoding = tokenizer.encode(text, false).map_err(err)?;
	encoding
		.get_ids()
		.iter()
		.map(|&id| {
			u16::try_from(id)
				.map_err(|_| DataError::Vocab { got: id as usize + 1, expected: 65536 })
		})
		.collect()
}

/// The id of [`END_OF_TEXT`].
pub fn end_of_text(tokenizer: &Tokenizer) -> Result<u16, DataError> {
	let id = tokenizer
		.token_to_id(END_OF_TEXT)
		.ok_or_else(|| DataError::Tokenizer(format!("{END_OF_TEXT} is not in the vocabulary")))?;
	u16::try_from(id).map_err(|_| DataError::Vocab { got: id as usize + 1, expected: 65536 })
}

/// Saves `tokenizer` as JSON.
pub fn save(tokenizer: &Tokenizer, path: &Path) -> Result<(), DataError> {
	tokenizer.save(path, false).map_err(err)
}

/// Loads a saved tokenizer.
pub fn load(path: &Path) -> Result<Tokenizer, DataError> {
	Tokenizer::from_file(path).map_err(|e| DataError::Tokenizer(format!("{}: {e}", path.display())))
}

/// Decodes ids back to text.
pub fn decode(tokenizer: &Tokenizer, ids: &[u16]) -> Result<String, DataError> {
	let ids: Vec<u32> = ids.iter().map(|&i| u32::from(i)).collect();
	tokenizer.decode(&ids, false).map_err(err)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn docs() -> Vec<String> {
		let verse = "Shall I compare thee to a summer's day? Thou art more lovely and more temperate. \
		             Rough winds do shake the darling buds of May, and summer's lease hath all too short a date.";
		(0..20).map(|i| format!("{verse} ({i})\n")).collect()
	}

	#[test]
	fn training_is_deterministic_and_round_trips() {
		let a = train(&docs(), 300).unwrap();
		let b = train(&docs(), 300).unwrap();
		let text = "Rough winds do shake the darling buds of May.";
		let ids = encode(&a, text).unwrap();
		assert_eq!(ids, encode(&b, text).unwrap());
		assert!(ids.len() < text.len() * 2 / 3, "BPE should merge: {} ids", ids.len());
		assert_eq!(decode(&a, &ids).unwrap(), text);
		assert_eq!(end_of_text(&a).unwrap(), 0);
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("tokenizer.json");
		save(&a, &path).unwrap();
		assert_eq!(encode(&load(&path).unwrap(), text).unwrap(), ids);
	}
}
