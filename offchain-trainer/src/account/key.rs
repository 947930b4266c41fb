//! Where a peer's secret key comes from, and making a new one. A secret URI (`//Alice`, a
//! mnemonic, a `0x` seed, with optional `//hard/soft` derivation and `///password`) is read from
//! exactly one of: a key file (`--key-file`, readable by its owner only), a keystore directory
//! in the node's format (`--keystore`, [`super::keystore`]), the `TESSERA_SURI` environment
//! variable, or `--suri` on the command line. The last shows in `ps` and shell history, so it
//! is for dev accounts; with any other key it works and warns.

use std::path::{Path, PathBuf};
use subxt_signer::{ExposeSecret, SecretUri, sr25519::Keypair};

/// Bytes a key file may hold (a 24-word mnemonic with a long derivation path fits many times).
pub const MAX_KEY_FILE: u64 = 4096;

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
	/// No source was given.
	#[error(
		"no key given: use --key-file FILE, --keystore DIR, the TESSERA_SURI environment \
		 variable, or --suri (dev accounts such as //Alice)"
	)]
	Missing,
	/// More than one source was given.
	#[error("give one key source, not {0}")]
	Ambiguous(String),
	/// The secret URI is not one.
	#[error("the key from {from} is not a secret URI (a mnemonic, a 0x seed or //Name): {reason}")]
	BadUri {
		/// Where it came from.
		from: String,
		/// Why (never the secret itself).
		reason: String,
	},
	/// A key file could not be read.
	#[error("key file {path}: {message}")]
	File {
		/// The file.
		path: PathBuf,
		/// What is wrong.
		message: String,
	},
	/// The keystore could not be read or written.
	#[error(transparent)]
	Keystore(#[from] super::keystore::KeystoreError),
	/// A mnemonic could not be made.
	#[error("making a mnemonic: {0}")]
	Generate(String),
}

/// The sources a command was given (each may be absent).
#[derive(Clone, Debug, Default)]
pub struct KeySources {
	/// A secret URI and whether it was typed on the command line (`--suri`) rather than taken
	/// from `TESSERA_SURI` or a config file.
	pub uri: Option<(String, bool)>,
	/// A key file.
	pub file: Option<PathBuf>,
	/// A keystore directory, and which of its accounts (needed when it holds several).
	pub keystore: Option<(PathBuf, Option<String>)>,
}

/// A key, with where it came from.
pub struct LoadedKey {
	/// The key pair.
	pub pair: Keypair,
	/// Its account (public key).
	pub account: [u8; 32],
	/// Where it came from, for the start-up summary (`key file /etc/tessera/miner.key`).
	pub source: String,
	/// A non-dev secret typed on the command line: say so (it shows in `ps` and history).
	pub exposed: bool,
}

impl KeySources {
	/// Whether any source was given.
	pub fn any(&self) -> bool {
		self.uri.is_some() || self.file.is_some() || self.keystore.is_some()
	}

	/// The key from the one source given.
	pub fn load(&self) -> Result<LoadedKey, KeyError> {
		let given: Vec<&str> = [
			self.uri.as_ref().map(|_| "--suri/TESSERA_SURI"),
			self.file.as_ref().map(|_| "--key-file"),
			self.keystore.as_ref().map(|_| "--keystore"),
		]
		.into_iter()
		.flatten()
		.collect();
		if given.len() > 1 {
			return Err(KeyError::Ambiguous(given.join(" and ")));
		}
		if let Some((uri, on_command_line)) = &self.uri {
			let source = if *on_command_line { "--suri" } else { "TESSERA_SURI" };
			let (pair, dev) = from_uri(uri, source)?;
			return Ok(loaded(pair, source.into(), *on_command_line && !dev));
		}
		if let Some(path) = &self.file {
			let uri = read_key_file(path)?;
			let (pair, _) = from_uri(&uri, &format!("key file {}", path.display()))?;
			return Ok(loaded(pair, format!("key file {}", path.display()), false));
		}
		if let Some((dir, account)) = &self.keystore {
			let wanted = account.as_deref().map(super::keystore::parse_account).transpose()?;
			let (pair, path) = super::keystore::load(dir, wanted)?;
			return Ok(loaded(pair, format!("keystore {}", path.display()), false));
		}
		Err(KeyError::Missing)
	}
}

fn loaded(pair: Keypair, source: String, exposed: bool) -> LoadedKey {
	LoadedKey { account: pair.public_key().0, pair, source, exposed }
}

/// The key pair of secret URI `text`, and whether it is a dev key (derived from the public
/// development phrase, e.g. `//Alice`). `source` names it in errors; the secret never does.
pub fn from_uri(text: &str, source: &str) -> Result<(Keypair, bool), KeyError> {
	use std::str::FromStr;
	let bad = |reason: String| KeyError::BadUri { from: source.into(), reason };
	let uri = SecretUri::from_str(text.trim()).map_err(|e| bad(e.to_string()))?;
	let dev = uri.phrase.expose_secret() == subxt_signer::DEV_PHRASE;
	let pair = Keypair::from_uri(&uri).map_err(|e| bad(e.to_string()))?;
	Ok((pair, dev))
}

/// The secret URI in key file `path`: its text (one line; a JSON string, as the node's keystore
/// files hold, is taken too). The file must be readable by its owner only, as ssh asks of
/// private keys, and at most [`MAX_KEY_FILE`] bytes.
pub fn read_key_file(path: &Path) -> Result<String, KeyError> {
	use std::io::Read;
	use std::os::unix::fs::PermissionsExt;
	let err = |message: String| KeyError::File { path: path.into(), message };
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
pub fn write_key_file(path: &Path, uri: &str) -> Result<(), KeyError> {
	use std::io::Write;
	use std::os::unix::fs::OpenOptionsExt;
	let err = |message: String| KeyError::File { path: path.into(), message };
	let mut file =
		std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(
			|e| match e.kind() {
				std::io::ErrorKind::AlreadyExists => err("exists already; not replaced".into()),
				_ => err(e.to_string()),
			},
		)?;
	file.write_all(format!("{uri}\n").as_bytes())
		.and_then(|()| file.sync_all())
		.map_err(|e| err(e.to_string()))
}

/// A new BIP-39 mnemonic of `words` words (12, 15, 18, 21 or 24) from the operating system's
/// random source.
pub fn generate(words: usize) -> Result<String, KeyError> {
	use rand::TryRngCore;
	if !matches!(words, 12 | 15 | 18 | 21 | 24) {
		return Err(KeyError::Generate(format!("{words} words: give 12, 15, 18, 21 or 24")));
	}
	let mut entropy = vec![0u8; words / 3 * 4];
	rand::rngs::OsRng
		.try_fill_bytes(&mut entropy)
		.map_err(|e| KeyError::Generate(format!("the system's random source: {e}")))?;
	let mnemonic = subxt_signer::bip39::Mnemonic::from_entropy(&entropy)
		.map_err(|e| KeyError::Generate(e.to_string()))?;
	Ok(mnemonic.to_string())
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::os::unix::fs::PermissionsExt;

	fn alice() -> [u8; 32] {
		subxt_signer::sr25519::dev::alice().public_key().0
	}

	#[test]
	fn one_source_gives_the_key() {
		let dir = tempfile::tempdir().unwrap();
		let file = dir.path().join("alice.key");
		write_key_file(&file, "//Alice").unwrap();
		let from_file = KeySources { file: Some(file.clone()), ..Default::default() };
		let key = from_file.load().unwrap();
		assert_eq!(key.account, alice());
		assert!(key.source.contains("alice.key") && !key.exposed);

		let env = KeySources { uri: Some(("//Alice".into(), false)), ..Default::default() };
		assert_eq!(env.load().unwrap().account, alice());
		assert_eq!(env.load().unwrap().source, "TESSERA_SURI");

		let both = KeySources { file: Some(file), ..env };
		assert!(matches!(both.load(), Err(KeyError::Ambiguous(_))));
		assert!(matches!(KeySources::default().load(), Err(KeyError::Missing)));
	}

	#[test]
	fn a_real_secret_on_the_command_line_is_flagged_and_a_dev_key_is_not() {
		let typed = |uri: &str| KeySources { uri: Some((uri.into(), true)), ..Default::default() };
		assert!(!typed("//Alice").load().unwrap().exposed);
		assert!(!typed("//Alice//stash").load().unwrap().exposed);
		let phrase = generate(12).unwrap();
		assert!(typed(&phrase).load().unwrap().exposed);
		let from_env = KeySources { uri: Some((phrase, false)), ..Default::default() };
		assert!(!from_env.load().unwrap().exposed);
	}

	#[test]
	fn generated_mnemonics_are_valid_fresh_and_sized() {
		for words in [12, 24] {
			let a = generate(words).unwrap();
			assert_eq!(a.split(' ').count(), words);
			assert!(from_uri(&a, "test").is_ok());
			assert_ne!(a, generate(words).unwrap());
		}
		assert!(matches!(generate(13), Err(KeyError::Generate(_))));
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
			assert!(matches!(read_key_file(&path), Err(KeyError::File { .. })), "{name}");
		}
		let bad = dir.path().join("bad");
		write_key_file(&bad, "not a uri at all").unwrap();
		let e = KeySources { file: Some(bad), ..Default::default() }.load().err().unwrap();
		assert!(matches!(e, KeyError::BadUri { .. }), "{e}");
		assert!(!e.to_string().contains("not a uri at all"), "the secret stays out: {e}");
	}
}
