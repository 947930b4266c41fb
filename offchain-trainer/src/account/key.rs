//! Where a peer's secret key comes from, and making a new one. A secret URI (`//Alice`, a
//! mnemonic, a `0x` seed, with optional `//hard/soft` derivation and `///password`) is read from
//! exactly one of: a key file (`--key-file`, readable by its owner only), a keystore directory
//! in the node's format (`--keystore`, [`super::keystore`]), the `TESSERA_SURI` environment
//! variable, or `--suri` on the command line (or `suri` in a config file). The command line wins
//! over the environment, which wins over a config file ([`Origin`]). `--suri` shows in `ps` and
//! shell history, and a config file is often readable by others, so a secret there is for dev
//! accounts; any other key works and is flagged ([`LoadedKey::exposed`]).

pub use super::secret::{
	MAX_KEY_FILE, SecretError, from_uri, generate, read_key_file, write_key_file,
};
use std::path::PathBuf;
use subxt_signer::sr25519::Keypair;

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
	/// The secret, or its key file, is not usable.
	#[error(transparent)]
	Secret(#[from] SecretError),
	/// The keystore could not be read or written.
	#[error(transparent)]
	Keystore(#[from] super::keystore::KeystoreError),
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

#[cfg(test)]
mod tests {
	use super::*;

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
	fn a_bad_secret_is_refused_without_showing_it() {
		let dir = tempfile::tempdir().unwrap();
		let bad = dir.path().join("bad");
		write_key_file(&bad, "not a uri at all").unwrap();
		let e = KeySources { file: Some((bad, Origin::CommandLine)), ..Default::default() }
			.load()
			.err()
			.unwrap();
		assert!(matches!(e, KeyError::Secret(SecretError::BadUri { .. })), "{e}");
		assert!(!e.to_string().contains("not a uri at all"), "the secret stays out: {e}");
	}
}
