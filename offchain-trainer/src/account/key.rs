//! Where a peer's secret key comes from, and making a new one. A secret URI (`//Alice`, a
//! mnemonic, a `0x` seed, with optional `//hard/soft` derivation and `///password`) is read from
//! exactly one of: a key file (`--key-file`, readable by its owner only), a keystore directory
//! in the node's format (`--keystore`, [`super::keystore`]), the `TESSERA_SURI` environment
//! variable, or `--suri` on the command line (or `suri` in a config file). The command line wins
//! over the environment, which wins over a config file ([`Origin`]). `--suri` shows in `ps` and
//! shell history, and a config file is often readable by others, so a secret there is for dev
//! accounts; any other key works and is flagged ([`LoadedKey::exposed`]).

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
	/// More than one source was given at the same level.
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

/// Where a key option's value came from; a higher one wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
	/// A `key = …` line of a `--config` file.
	ConfigFile,
	/// An environment variable.
	Environment,
	/// Typed on the command line.
	CommandLine,
}

/// The sources a command was given (each may be absent), with where each came from.
#[derive(Clone, Default)]
pub struct KeySources {
	/// A secret URI (`--suri`, `TESSERA_SURI`, or `suri` in a config file).
	pub uri: Option<(String, Origin)>,
	/// A key file.
	pub file: Option<(PathBuf, Origin)>,
	/// A keystore directory, which of its accounts (needed when it holds several).
	pub keystore: Option<(PathBuf, Option<String>, Origin)>,
}

/// The secret stays out of debug output.
impl std::fmt::Debug for KeySources {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("KeySources")
			.field("uri", &self.uri.as_ref().map(|(_, origin)| ("<secret>", origin)))
			.field("file", &self.file)
			.field("keystore", &self.keystore)
			.finish()
	}
}

/// A key, with where it came from.
pub struct LoadedKey {
	/// The key pair.
	pub pair: Keypair,
	/// Its account (public key).
	pub account: [u8; 32],
	/// Where it came from, for the start-up summary (`key file /etc/tessera/miner.key`).
	pub source: String,
	/// Why a real (non-dev) secret was exposed, when it was: typed after `--suri` (it shows in
	/// `ps` and shell history) or written in a config file.
	pub exposed: Option<String>,
}

impl KeySources {
	/// Whether any source was given.
	pub fn any(&self) -> bool {
		self.uri.is_some() || self.file.is_some() || self.keystore.is_some()
	}

	/// The key from the source that wins: the command line over the environment over a
	/// config file; two sources at the same level are refused.
	pub fn load(&self) -> Result<LoadedKey, KeyError> {
		let levels = [
			self.uri.as_ref().map(|(_, o)| *o),
			self.file.as_ref().map(|(_, o)| *o),
			self.keystore.as_ref().map(|(_, _, o)| *o),
		];
		let Some(top) = levels.iter().flatten().max().copied() else {
			return Err(KeyError::Missing);
		};
		let names = |o: Origin| match o {
			Origin::CommandLine => ["--suri", "--key-file", "--keystore"],
			Origin::Environment => ["TESSERA_SURI", "TESSERA_KEY_FILE", "TESSERA_KEYSTORE"],
			Origin::ConfigFile => ["`suri`", "`key-file`", "`keystore`"],
		};
		let at_top: Vec<&str> = levels
			.iter()
			.zip(names(top))
			.filter(|(level, _)| **level == Some(top))
			.map(|(_, name)| name)
			.collect();
		if at_top.len() > 1 {
			let place = match top {
				Origin::CommandLine => "on the command line",
				Origin::Environment => "in the environment",
				Origin::ConfigFile => "in the config file",
			};
			return Err(KeyError::Ambiguous(format!("{} {place}", at_top.join(" and "))));
		}
		if let Some((uri, origin)) = self.uri.as_ref().filter(|(_, o)| *o == top) {
			let source = names(*origin)[0];
			let (pair, dev) = from_uri(uri, source)?;
			let exposed = match origin {
				_ if dev => None,
				Origin::CommandLine => {
					Some("a secret key was given with --suri: it shows in `ps` and shell history")
				},
				Origin::ConfigFile => Some("a secret key was written as `suri` in a config file"),
				Origin::Environment => None,
			};
			return Ok(loaded(pair, source.into(), exposed.map(str::to_string)));
		}
		if let Some((path, _)) = self.file.as_ref().filter(|(_, o)| *o == top) {
			let uri = read_key_file(path)?;
			let (pair, _) = from_uri(&uri, &format!("key file {}", path.display()))?;
			return Ok(loaded(pair, format!("key file {}", path.display()), None));
		}
		if let Some((dir, account, _)) = self.keystore.as_ref().filter(|(_, _, o)| *o == top) {
			let wanted = account.as_deref().map(super::keystore::parse_account).transpose()?;
			let (pair, path) = super::keystore::load(dir, wanted)?;
			return Ok(loaded(pair, format!("keystore {}", path.display()), None));
		}
		Err(KeyError::Missing)
	}
}

/// `text` (something a user gave where an account was expected) quoted for an error message,
/// unless it may be a secret: a phrase of several words, or long; then a note instead of it.
pub fn shown_safely(text: &str) -> String {
	if text.split_whitespace().count() > 1 || text.len() > 80 {
		"what was given (not shown: it looks like a secret phrase; keys go in --key-file, \
		 --keystore or TESSERA_SURI)"
			.into()
	} else {
		format!("{text:?}")
	}
}

fn loaded(pair: Keypair, source: String, exposed: Option<String>) -> LoadedKey {
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
	let written = file.write_all(format!("{uri}\n").as_bytes()).and_then(|()| file.sync_all());
	written.map_err(|e| {
		// Half a key file would be refused, and never replaced: take it away.
		let _ = std::fs::remove_file(path);
		err(e.to_string())
	})
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
	fn the_command_line_wins_over_the_environment_over_a_config_file() {
		use Origin::*;
		let dir = tempfile::tempdir().unwrap();
		let file = dir.path().join("alice.key");
		write_key_file(&file, "//Alice").unwrap();
		let bob = subxt_signer::sr25519::dev::bob().public_key().0;
		let from_file =
			KeySources { file: Some((file.clone(), Environment)), ..Default::default() };
		let key = from_file.load().unwrap();
		assert_eq!(key.account, alice());
		assert!(key.source.contains("alice.key") && key.exposed.is_none());

		// TESSERA_SURI set, --key-file typed: the typed one.
		let typed_file = KeySources {
			uri: Some(("//Bob".into(), Environment)),
			file: Some((file.clone(), CommandLine)),
			..Default::default()
		};
		assert_eq!(typed_file.load().unwrap().account, alice());
		// --suri typed, TESSERA_KEY_FILE set: the typed one.
		let typed_uri = KeySources {
			uri: Some(("//Bob".into(), CommandLine)),
			file: Some((file.clone(), Environment)),
			..Default::default()
		};
		assert_eq!(typed_uri.load().unwrap().account, bob);
		// `key-file` in the config file, TESSERA_SURI set: the environment.
		let env_over_file = KeySources {
			uri: Some(("//Bob".into(), Environment)),
			file: Some((file.clone(), ConfigFile)),
			..Default::default()
		};
		assert_eq!(env_over_file.load().unwrap().account, bob);
		assert_eq!(env_over_file.load().unwrap().source, "TESSERA_SURI");

		// Two at the same level: refused, naming both.
		let both = KeySources {
			uri: Some(("//Bob".into(), Environment)),
			file: Some((file, Environment)),
			..Default::default()
		};
		let e = both.load().err().unwrap().to_string();
		assert!(e.contains("TESSERA_SURI and TESSERA_KEY_FILE in the environment"), "{e}");
		assert!(matches!(KeySources::default().load(), Err(KeyError::Missing)));
	}

	#[test]
	fn a_real_secret_typed_or_in_a_config_file_is_flagged_and_a_dev_key_is_not() {
		let given = |uri: &str, origin| KeySources {
			uri: Some((uri.into(), origin)),
			..Default::default()
		};
		assert!(given("//Alice", Origin::CommandLine).load().unwrap().exposed.is_none());
		assert!(given("//Alice//stash", Origin::ConfigFile).load().unwrap().exposed.is_none());
		let phrase = generate(12).unwrap();
		let typed = given(&phrase, Origin::CommandLine).load().unwrap().exposed.unwrap();
		assert!(typed.contains("shows in `ps`"), "{typed}");
		let filed = given(&phrase, Origin::ConfigFile).load().unwrap().exposed.unwrap();
		assert!(filed.contains("config file"), "{filed}");
		assert!(given(&phrase, Origin::Environment).load().unwrap().exposed.is_none());
		let debug = format!("{:?}", given(&phrase, Origin::Environment));
		assert!(!debug.contains(&phrase) && debug.contains("<secret>"), "{debug}");
	}

	#[test]
	fn a_phrase_given_as_an_account_is_never_echoed() {
		let phrase = generate(12).unwrap();
		assert!(!shown_safely(&phrase).contains(&phrase));
		assert_eq!(shown_safely("5Grw"), "\"5Grw\"");
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
		let e = KeySources { file: Some((bad, Origin::CommandLine)), ..Default::default() }
			.load()
			.err()
			.unwrap();
		assert!(matches!(e, KeyError::BadUri { .. }), "{e}");
		assert!(!e.to_string().contains("not a uri at all"), "the secret stays out: {e}");
	}
}
