//! A secret key's own handling, whatever the source: a secret URI turned into a key pair (and
//! whether it is a dev key), key files (one line, readable by their owner only, never
//! replaced), and new mnemonics from the operating system's random source. Errors name where
//! a secret came from, never the secret.

use std::path::{Path, PathBuf};
use subxt_signer::{ExposeSecret, SecretUri, sr25519::Keypair};

/// Bytes a key file may hold (a 24-word mnemonic with a long derivation path fits many times).
pub const MAX_KEY_FILE: u64 = 4096;

/// Why a secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
	/// The secret URI is not one.
	#[error("the key from {from} is not a secret URI (a mnemonic, a 0x seed or //Name): {reason}")]
	BadUri {
		/// Where it came from.
		from: String,
		/// Why (never the secret itself).
		reason: String,
	},
	/// A key file could not be read or written.
	#[error("key file {path}: {message}")]
	File {
		/// The file.
		path: PathBuf,
		/// What is wrong.
		message: String,
	},
	/// A mnemonic could not be made.
	#[error("making a mnemonic: {0}")]
	Generate(String),
}

/// The key pair of secret URI `text`, and whether it is a dev key (derived from the public
/// development phrase, e.g. `//Alice`). `source` names it in errors; the secret never does.
pub fn from_uri(text: &str, source: &str) -> Result<(Keypair, bool), SecretError> {
	use std::str::FromStr;
	let bad = |reason: String| SecretError::BadUri { from: source.into(), reason };
	let uri = SecretUri::from_str(text.trim()).map_err(|e| bad(e.to_string()))?;
	let dev = uri.phrase.expose_secret() == subxt_signer::DEV_PHRASE;
	let pair = Keypair::from_uri(&uri).map_err(|e| bad(e.to_string()))?;
	Ok((pair, dev))
}

/// The secret URI in key file `path`: its text (one line; a JSON string, as the node's keystore
/// files hold, is taken too). The file must be readable by its owner only, as ssh asks of
/// private keys, and at most [`MAX_KEY_FILE`] bytes.
pub fn read_key_file(path: &Path) -> Result<String, SecretError> {
	use std::io::Read;
	use std::os::unix::fs::PermissionsExt;
	let err = |message: String| SecretError::File { path: path.into(), message };
	let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
	let meta = file.metadata().map_err(|e| err(e.to_string()))?;
	if !meta.is_file() {
		return Err(err("not a regular file".into()));
	}
	let mode = meta.permissions().mode() & 0o777;
	if mode & 0o077 != 0 {
		return Err(err(format!(
			"readable by others (mode {mode:03o}): `chmod 600 {}` first",
			path.display()
		)));
	}
	if meta.len() > MAX_KEY_FILE {
		return Err(err(format!("{} bytes, more than a key file holds", meta.len())));
	}
	let mut text = String::new();
	file.take(MAX_KEY_FILE + 1)
		.read_to_string(&mut text)
		.map_err(|e| err(format!("not text: {e}")))?;
	let text = text.trim();
	if text.is_empty() {
		return Err(err("empty".into()));
	}
	if text.starts_with('"') {
		return serde_json::from_str::<String>(text)
			.map_err(|e| err(format!("not a JSON string: {e}")));
	}
	if text.lines().count() > 1 {
		return Err(err("more than one line: a key file holds one secret URI".into()));
	}
	Ok(text.to_string())
}

/// Writes `uri` to a new key file at `path`, readable by its owner only; an existing file is
/// never replaced.
pub fn write_key_file(path: &Path, uri: &str) -> Result<(), SecretError> {
	use std::io::Write;
	use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
	let err = |message: String| SecretError::File { path: path.into(), message };
	// A missing directory (`~/.config/tessera`) is made, readable by its owner only.
	if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
		std::fs::DirBuilder::new()
			.recursive(true)
			.mode(0o700)
			.create(dir)
			.map_err(|e| err(format!("making its directory: {e}")))?;
	}
	let mut file =
		std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(
			|e| match e.kind() {
				std::io::ErrorKind::AlreadyExists => err("exists already; not replaced".into()),
				_ => err(e.to_string()),
			},
		)?;
	let written = file.write_all(format!("{uri}\n").as_bytes()).and_then(|()| file.sync_all());
	written.map_err(|e| {
		// Half a key file would be refused, and never replaced: take it away.
		let _ = std::fs::remove_file(path);
		err(e.to_string())
	})
}

/// A new BIP-39 mnemonic of `words` words (12, 15, 18, 21 or 24) from the operating system's
/// random source.
pub fn generate(words: usize) -> Result<String, SecretError> {
	use rand::TryRngCore;
	if !matches!(words, 12 | 15 | 18 | 21 | 24) {
		return Err(SecretError::Generate(format!("{words} words: give 12, 15, 18, 21 or 24")));
	}
	let mut entropy = vec![0u8; words / 3 * 4];
	rand::rngs::OsRng
		.try_fill_bytes(&mut entropy)
		.map_err(|e| SecretError::Generate(format!("the system's random source: {e}")))?;
	let mnemonic = subxt_signer::bip39::Mnemonic::from_entropy(&entropy)
		.map_err(|e| SecretError::Generate(e.to_string()))?;
	Ok(mnemonic.to_string())
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::os::unix::fs::PermissionsExt;

	#[test]
	fn generated_mnemonics_are_valid_fresh_and_sized() {
		for words in [12, 24] {
			let a = generate(words).unwrap();
			assert_eq!(a.split(' ').count(), words);
			assert!(from_uri(&a, "test").is_ok());
			assert_ne!(a, generate(words).unwrap());
		}
		assert!(matches!(generate(13), Err(SecretError::Generate(_))));
	}

	#[test]
	fn key_files_must_be_private_one_line_and_small() {
		let dir = tempfile::tempdir().unwrap();
		let file = dir.path().join("k");
		write_key_file(&file, "//Bob").unwrap();
		assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
		assert_eq!(read_key_file(&file).unwrap(), "//Bob");
		assert!(write_key_file(&file, "//Eve").is_err(), "never replaced");
		assert_eq!(read_key_file(&file).unwrap(), "//Bob");

		std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
		let e = read_key_file(&file).unwrap_err().to_string();
		assert!(e.contains("chmod 600"), "{e}");

		let json = dir.path().join("json");
		write_key_file(&json, "\"//Charlie\"").unwrap();
		assert_eq!(read_key_file(&json).unwrap(), "//Charlie");

		for (name, text) in [("two", "//A\n//B\n"), ("empty", "\n"), ("big", &"a".repeat(5000))] {
			let path = dir.path().join(name);
			std::fs::write(&path, text).unwrap();
			std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
			assert!(matches!(read_key_file(&path), Err(SecretError::File { .. })), "{name}");
		}
	}

	#[test]
	fn a_key_file_s_missing_directory_is_made_private() {
		let dir = tempfile::tempdir().unwrap();
		let file = dir.path().join(".config/tessera/miner.key");
		write_key_file(&file, "//Bob").unwrap();
		assert_eq!(read_key_file(&file).unwrap(), "//Bob");
		let made = file.parent().unwrap();
		assert_eq!(std::fs::metadata(made).unwrap().permissions().mode() & 0o777, 0o700);
	}
}
