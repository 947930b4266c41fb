//! Real `offchain-trainer miner` and `validator` processes for end-to-end tests: the tiny model
//! on CPU, a shared S3 server, one log and one JSON report per peer in the test's directory.
//! Processes are killed when their handle drops.

use crate::{S3Server, binary, s3};
use anyhow::Context;
use std::{
	collections::BTreeMap,
	path::{Path, PathBuf},
	process::Stdio,
	time::Duration,
};
use tessera_peer::report::{Record, Report};
use tokio::process::{Child, Command};

/// The SS58 address of a dev key URI (`//Alice`, `//Alice//stash`), as reports and the audit
/// show accounts.
pub fn account_of(suri: &str) -> anyhow::Result<String> {
	Ok(tessera_chain::address::ss58(&tessera_chain::address::parse(suri)?))
}

/// What every trainer process of a test shares.
pub struct Network<'a> {
	/// The node's RPC URL (directly, or through a [`crate::Proxy`]).
	pub url: &'a str,
	/// The object store.
	pub s3: &'a S3Server,
	/// The corpus directory.
	pub corpus: &'a Path,
	/// Where logs, reports, checkpoints go.
	pub dir: &'a Path,
	/// Each peer's `--fetch-timeout`, in seconds.
	pub fetch_timeout_s: u64,
}

/// A running trainer process.
pub struct Peer {
	/// Its name (file names).
	pub name: String,
	/// Its account (SS58 address).
	pub account: String,
	child: Child,
	dir: PathBuf,
}

impl Network<'_> {
	fn command(&self, kind: &str, name: &str, suri: &str, until: u64) -> anyhow::Result<Command> {
		let mut c = Command::new(binary("offchain-trainer")?);
		c.arg(kind)
			.args(["--url", self.url, "--suri", suri, "--model", "tiny"])
			.args(["--endpoint", self.s3.endpoint(), "--bucket", "tessera", "--prefix", name])
			.arg("--create-bucket")
			.args(["--s3-access-key", s3::ACCESS_KEY, "--s3-secret-key", s3::SECRET_KEY])
			// One S3 server on loopback holds every peer's bucket; reading the others needs its
			// key (separate from the own one) and a private endpoint.
			.args(["--read-access-key", s3::ACCESS_KEY, "--read-secret-key", s3::SECRET_KEY])
			.arg("--allow-private-endpoints")
			.args(["--eval-rows", "16", "--fetch-timeout", &self.fetch_timeout_s.to_string()])
			.arg("--corpus")
			.arg(self.corpus)
			.arg("--checkpoint-dir")
			.arg(self.dir.join(format!("{name}-checkpoints")))
			.arg("--report")
			.arg(self.dir.join(format!("{name}.jsonl")))
			.args(["--until-window", &until.to_string()]);
		Ok(c)
	}

	fn spawn(&self, name: &str, suri: &str, mut c: Command) -> anyhow::Result<Peer> {
		let log = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(self.dir.join(format!("{name}.log")))?;
		let child = c
			.env("RUST_LOG", "info")
			.stdin(Stdio::null())
			.stdout(log.try_clone()?)
			.stderr(log)
			.kill_on_drop(true)
			.spawn()
			.with_context(|| format!("starting {name}"))?;
		Ok(Peer { name: name.into(), account: account_of(suri)?, child, dir: self.dir.into() })
	}

	/// Starts a miner with `behaviour` (`honest` or an adversary) until window `until`.
	pub fn miner(
		&self,
		name: &str,
		suri: &str,
		behaviour: &str,
		until: u64,
	) -> anyhow::Result<Peer> {
		self.miner_with(name, suri, behaviour, until, &[])
	}

	/// [`Self::miner`] with `extra` options.
	pub fn miner_with(
		&self,
		name: &str,
		suri: &str,
		behaviour: &str,
		until: u64,
		extra: &[&str],
	) -> anyhow::Result<Peer> {
		let mut c = self.command("miner", name, suri, until)?;
		// The inner optimizer is the run's (harness::RUN_ARGS).
		c.args(["--behaviour", behaviour]).args(extra);
		self.spawn(name, suri, c)
	}

	/// Starts a validator until window `until`; `extra` arguments are appended.
	pub fn validator(
		&self,
		name: &str,
		suri: &str,
		until: u64,
		extra: &[&str],
	) -> anyhow::Result<Peer> {
		let mut c = self.command("validator", name, suri, until)?;
		c.args(["--eval-sequences", "8"]).args(extra);
		self.spawn(name, suri, c)
	}
}

impl Peer {
	/// Waits for the process to exit successfully within `timeout`.
	pub async fn finish(mut self, timeout: Duration) -> anyhow::Result<()> {
		let status =
			tokio::time::timeout(timeout, self.child.wait()).await.with_context(|| {
				format!("{} still running after {timeout:?}\n{}", self.name, self.tail())
			})??;
		anyhow::ensure!(status.success(), "{} exited with {status}:\n{}", self.name, self.tail());
		Ok(())
	}

	/// Asks the process to stop (SIGTERM), as systemd does, and waits for it to exit
	/// successfully within `timeout`; its whole log.
	pub async fn terminate(self, timeout: Duration) -> anyhow::Result<String> {
		let pid = self.child.id().with_context(|| format!("{} has exited", self.name))?;
		let log = self.dir.join(format!("{}.log", self.name));
		nix::sys::signal::kill(
			nix::unistd::Pid::from_raw(i32::try_from(pid)?),
			nix::sys::signal::SIGTERM,
		)?;
		self.finish(timeout).await?;
		Ok(std::fs::read_to_string(log)?)
	}

	/// Kills the process at once (SIGKILL), as a crash would.
	pub async fn kill(mut self) -> anyhow::Result<()> {
		self.child.kill().await?;
		Ok(())
	}

	/// The last lines of the log.
	pub fn tail(&self) -> String {
		log_tail(&self.dir, &self.name)
	}
}

/// The last 60 lines of `name`'s log in `dir`.
pub fn log_tail(dir: &Path, name: &str) -> String {
	let log = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
	let lines: Vec<&str> = log.lines().collect();
	lines[lines.len().saturating_sub(60)..].join("\n")
}

/// `text` without ANSI escape sequences (`ESC [ … letter`: the text log format colours field
/// names on a terminal), so log lines can be matched as plain text.
pub fn strip_ansi(text: &str) -> String {
	let mut out = String::with_capacity(text.len());
	let mut chars = text.chars();
	while let Some(c) = chars.next() {
		if c == '\u{1b}' {
			for e in chars.by_ref() {
				if e.is_ascii_alphabetic() {
					break;
				}
			}
		} else {
			out.push(c);
		}
	}
	out
}

/// Every record of `name`'s report in `dir`.
pub fn records(dir: &Path, name: &str) -> anyhow::Result<Vec<Record>> {
	Ok(Report::read(&dir.join(format!("{name}.jsonl")))?)
}

/// θ hash after each window (the last `Applied` or `Resynced` record for it), with the
/// inclusion list and held-out loss (a miner's comes in a later `Evaluated` record of the same
/// θ; `None` until then).
pub fn theta_by_window(records: &[Record]) -> BTreeMap<u64, (String, Vec<String>, Option<f32>)> {
	let mut out = BTreeMap::new();
	for r in records {
		match r {
			Record::Applied { window, theta_hash, included, held_out_loss }
			| Record::Resynced { window, theta_hash, included, held_out_loss } => {
				out.insert(*window, (theta_hash.clone(), included.clone(), *held_out_loss));
			},
			Record::Evaluated { window, theta_hash, held_out_loss } => {
				if let Some(entry) = out.get_mut(window).filter(|e| &e.0 == theta_hash) {
					entry.2 = Some(*held_out_loss);
				}
			},
			_ => {},
		}
	}
	out
}

#[cfg(test)]
mod tests {
	use super::strip_ansi;

	#[test]
	fn colour_codes_are_removed_and_the_text_is_kept() {
		let coloured =
			"\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[3mwindow\u{1b}[0m=2 done";
		assert_eq!(strip_ansi(coloured), "2026  INFO window=2 done");
		assert_eq!(strip_ansi("plain — θ"), "plain — θ");
	}
}
