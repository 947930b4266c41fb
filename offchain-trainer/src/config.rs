//! Operator configuration files. `miner` and `validator` take `--config FILE`: a TOML table
//! whose keys are the subcommand's long options (`fetch-timeout = 10`, `suri = "//Alice"`,
//! `create-bucket = true`). Precedence: command-line flags, then environment variables, then
//! the file, then defaults. The file is checked up front: an unknown key, or a value of the
//! wrong kind, is refused with the key and the file named.
//!
//! It works on the arguments before clap parses them: each key of the file becomes `--key
//! value` placed right after the subcommand (so a flag given later wins), unless the option's
//! environment variable is set (so the environment wins over the file).

use std::{ffi::OsString, path::Path};

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
	/// The file could not be read.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: String,
		/// Why.
		source: std::io::Error,
	},
	/// Not TOML.
	#[error("{path}: not valid TOML: {message}")]
	Parse {
		/// The file.
		path: String,
		/// The parser's message.
		message: String,
	},
	/// A key the subcommand does not have.
	#[error("{path}: unknown key `{key}` for `{command}` (known: {known})")]
	UnknownKey {
		/// The file.
		path: String,
		/// The key.
		key: String,
		/// The subcommand.
		command: String,
		/// Its keys.
		known: String,
	},
	/// A value of a kind the option cannot take.
	#[error("{path}: `{key}` must be {expected}")]
	BadValue {
		/// The file.
		path: String,
		/// The key.
		key: String,
		/// What it must be.
		expected: &'static str,
	},
	/// `--config` without a file.
	#[error("--config needs a file")]
	MissingPath,
}

/// The `--config` path among `args` (after the subcommand), if any.
fn config_path(args: &[OsString]) -> Result<Option<(usize, usize, OsString)>, ConfigError> {
	for (i, a) in args.iter().enumerate() {
		let Some(s) = a.to_str() else { continue };
		if s == "--config" {
			let path = args.get(i + 1).cloned().ok_or(ConfigError::MissingPath)?;
			return Ok(Some((i, 2, path)));
		}
		if let Some(p) = s.strip_prefix("--config=") {
			return Ok(Some((i, 1, p.into())));
		}
	}
	Ok(None)
}

/// `args` (the whole command line, program name first) with the `--config` file of the
/// subcommand expanded into options, as described in the module docs. `command` is the
/// program's clap definition.
pub fn expand(args: Vec<OsString>, command: &clap::Command) -> Result<Vec<OsString>, ConfigError> {
	// The subcommand: the first argument naming one (global options may come before it).
	let Some((pos, sub)) = args.iter().enumerate().skip(1).find_map(|(i, a)| {
		a.to_str().and_then(|name| command.find_subcommand(name)).map(|sub| (i, sub))
	}) else {
		return Ok(args);
	};
	let sub_name = sub.get_name().to_string();
	let Some((at, len, path)) = config_path(&args[pos + 1..])? else { return Ok(args) };
	let path_text = Path::new(&path).display().to_string();
	let text = std::fs::read_to_string(&path)
		.map_err(|source| ConfigError::Io { path: path_text.clone(), source })?;
	let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Parse {
		path: path_text.clone(),
		message: e.to_string(),
	})?;

	let known: Vec<&clap::Arg> =
		sub.get_arguments().filter(|a| a.get_long().is_some_and(|l| l != "config")).collect();
	let mut injected: Vec<OsString> = Vec::new();
	for (key, value) in &table {
		let Some(arg) = known.iter().find(|a| a.get_long() == Some(key.as_str())) else {
			return Err(ConfigError::UnknownKey {
				path: path_text,
				key: key.clone(),
				command: sub_name,
				known: known.iter().filter_map(|a| a.get_long()).collect::<Vec<_>>().join(", "),
			});
		};
		if arg.get_env().is_some_and(|env| std::env::var_os(env).is_some()) {
			continue; // the environment wins over the file
		}
		// A list option (`url`) given on the command line replaces the file's list rather than
		// adding to it, as a single-valued flag replaces the file's value.
		let on_command_line = || {
			args[pos + 1..]
				.iter()
				.filter_map(|a| a.to_str())
				.any(|a| a == format!("--{key}") || a.starts_with(&format!("--{key}=")))
		};
		if matches!(arg.get_action(), clap::ArgAction::Append) && on_command_line() {
			continue;
		}
		let flag = format!("--{key}");
		let takes_value = arg.get_action().takes_values();
		let bad = |expected| ConfigError::BadValue {
			path: path_text.clone(),
			key: key.clone(),
			expected,
		};
		match value {
			toml::Value::Boolean(b) if !takes_value => {
				if *b {
					injected.push(flag.into());
				}
			},
			toml::Value::Boolean(_) => return Err(bad("a value, not true/false")),
			_ if !takes_value => return Err(bad("true or false")),
			toml::Value::String(s) => injected.extend([flag.into(), s.into()]),
			toml::Value::Integer(i) => injected.extend([flag.into(), i.to_string().into()]),
			toml::Value::Float(f) => injected.extend([flag.into(), f.to_string().into()]),
			toml::Value::Array(items) => {
				for item in items {
					let v = match item {
						toml::Value::String(s) => s.clone(),
						toml::Value::Integer(i) => i.to_string(),
						toml::Value::Float(f) => f.to_string(),
						_ => return Err(bad("a list of strings or numbers")),
					};
					injected.extend([OsString::from(flag.clone()), v.into()]);
				}
			},
			_ => return Err(bad("a string, a number, a boolean or a list")),
		}
	}
	// `--config FILE` stays where it was, so the program still knows which file it read.
	let _ = (at, len);
	let mut out: Vec<OsString> = args[..=pos].to_vec();
	out.extend(injected);
	out.extend(args[pos + 1..].iter().cloned());
	Ok(out)
}

#[cfg(test)]
mod tests {
	use super::*;
	use clap::{Arg, ArgAction, Command};

	fn command() -> Command {
		Command::new("t").subcommand(
			Command::new("miner")
				.args_override_self(true)
				.arg(Arg::new("config").long("config"))
				.arg(Arg::new("suri").long("suri"))
				.arg(Arg::new("inner-steps").long("inner-steps"))
				.arg(Arg::new("lr").long("lr").env("TESSERA_TEST_CONFIG_LR"))
				.arg(Arg::new("create-bucket").long("create-bucket").action(ArgAction::SetTrue))
				.arg(Arg::new("url").long("url").action(ArgAction::Append).value_delimiter(',')),
		)
	}

	fn args(list: &[&str]) -> Vec<OsString> {
		list.iter().map(OsString::from).collect()
	}

	#[test]
	fn file_keys_become_options_that_flags_override() {
		let dir = tempfile::tempdir().unwrap();
		let file = dir.path().join("miner.toml");
		std::fs::write(&file, "suri = \"//Alice\"\ninner-steps = 30\ncreate-bucket = true\n")
			.unwrap();
		let f = file.to_str().unwrap();
		let out =
			expand(args(&["t", "miner", "--config", f, "--inner-steps", "8"]), &command()).unwrap();
		// File keys in key order, then the command line as it was.
		assert_eq!(
			out,
			args(&[
				"t",
				"miner",
				"--create-bucket",
				"--inner-steps",
				"30",
				"--suri",
				"//Alice",
				"--config",
				f,
				"--inner-steps",
				"8"
			])
		);
		let m = command().get_matches_from(out);
		let m = m.subcommand_matches("miner").unwrap();
		assert_eq!(
			m.get_one::<String>("inner-steps").map(String::as_str),
			Some("8"),
			"the flag wins"
		);
		assert_eq!(m.get_one::<String>("suri").map(String::as_str), Some("//Alice"));
		assert!(m.get_flag("create-bucket"));
	}

	#[test]
	fn a_list_on_the_command_line_replaces_the_file_s() {
		let dir = tempfile::tempdir().unwrap();
		let file = dir.path().join("miner.toml");
		std::fs::write(&file, "url = [\"ws://a:1\", \"ws://b:2\"]\n").unwrap();
		let f = file.to_str().unwrap();
		let urls = |list: &[&str]| {
			let m = command().get_matches_from(expand(args(list), &command()).unwrap());
			let m = m.subcommand_matches("miner").unwrap().clone();
			m.get_many::<String>("url").unwrap().cloned().collect::<Vec<_>>()
		};
		assert_eq!(urls(&["t", "miner", "--config", f]), ["ws://a:1", "ws://b:2"]);
		assert_eq!(urls(&["t", "miner", "--config", f, "--url", "ws://c:3"]), ["ws://c:3"]);
		assert_eq!(
			urls(&["t", "miner", "--config", f, "--url=ws://c:3,ws://d:4"]),
			["ws://c:3", "ws://d:4"]
		);
	}

	#[test]
	fn unknown_keys_and_wrong_kinds_are_refused_with_the_key_named() {
		let dir = tempfile::tempdir().unwrap();
		let file = dir.path().join("bad.toml");
		std::fs::write(&file, "inner_steps = 30\n").unwrap();
		let f = file.to_str().unwrap();
		let err = expand(args(&["t", "miner", "--config", f]), &command()).unwrap_err();
		assert!(err.to_string().contains("unknown key `inner_steps`"), "{err}");
		std::fs::write(&file, "create-bucket = \"yes\"\n").unwrap();
		let err = expand(args(&["t", "miner", "--config", f]), &command()).unwrap_err();
		assert!(err.to_string().contains("`create-bucket` must be true or false"), "{err}");
		std::fs::write(&file, "suri = [\n").unwrap();
		assert!(matches!(
			expand(args(&["t", "miner", "--config", f]), &command()),
			Err(ConfigError::Parse { .. })
		));
		assert!(matches!(
			expand(args(&["t", "miner", "--config", "/nonexistent/x.toml"]), &command()),
			Err(ConfigError::Io { .. })
		));
	}

	#[test]
	fn global_options_may_come_before_the_subcommand() {
		let dir = tempfile::tempdir().unwrap();
		let file = dir.path().join("miner.toml");
		std::fs::write(&file, "suri = \"//Alice\"\n").unwrap();
		let f = file.to_str().unwrap();
		let out = expand(args(&["t", "--log-format", "json", "miner", "--config", f]), &command())
			.unwrap();
		assert_eq!(
			out,
			args(&["t", "--log-format", "json", "miner", "--suri", "//Alice", "--config", f])
		);
	}

	#[test]
	fn without_a_config_the_arguments_are_untouched() {
		let a = args(&["t", "miner", "--suri", "//Bob"]);
		assert_eq!(expand(a.clone(), &command()).unwrap(), a);
	}
}
