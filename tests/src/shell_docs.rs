//! The docs' shell examples, run for real. Every fenced ```sh block of the README and `docs/`
//! either runs in a test or says why not on the line before it, in an HTML comment that
//! Markdown renderers hide: `<!-- not run by the docs test: REASON -->`.
//!
//! A [`DocShell`] is one `bash` that runs a page's blocks in order, command by command (so a
//! variable one block sets is there in the next), in a temporary directory with a temporary
//! `$HOME` holding links to the build and the fetched corpus sources (where the docs look for
//! them), the workspace's binaries on `PATH`, and the repository's `scripts/` beside it. Two
//! things are rewritten so that tests never collide: `/tmp/` becomes the test's own directory,
//! and the documented metrics port a free one. A command that serves until stopped is started
//! in the background: `tessera-node` on ports it picks (its RPC address then exported as
//! `TESSERA_NODE_URL`, which every `offchain-trainer` command and config file give way to),
//! `offchain-trainer miner` and `validator` as written. Every process the shell started is
//! stopped when it is dropped.

use crate::paths::{TestDir, binary, workspace_root};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The HTML comment that marks a block no test runs; the reason follows the colon.
pub const NOT_RUN: &str = "<!-- not run by the docs test:";

/// What the shell prints after each command, with its exit status (or a background job's pid).
const DONE: &str = "__tessera_docs_done__";

/// The metrics port the docs show; replaced by 0 (a free one).
const DOCUMENTED_METRICS_PORT: &str = "9616";

/// One fenced ```sh block.
#[derive(Clone, Debug)]
pub struct ShellBlock {
	/// `FILE:LINE` of its opening fence.
	pub origin: String,
	/// Why no test runs it, when its marker says so.
	pub not_run: Option<String>,
	/// Its text.
	pub text: String,
}

/// The ```sh blocks of `path` (relative to the workspace root), in order. A marker without a
/// reason is an error.
pub fn shell_blocks(path: &str) -> anyhow::Result<Vec<ShellBlock>> {
	let file = workspace_root().join(path);
	let text =
		std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
	blocks_of(path, &text)
}

/// The ```sh blocks of `text`, a Markdown file at `path`.
fn blocks_of(path: &str, text: &str) -> anyhow::Result<Vec<ShellBlock>> {
	let mut blocks = Vec::new();
	let mut previous = "";
	let mut open: Option<ShellBlock> = None;
	for (i, line) in text.lines().enumerate() {
		match &mut open {
			None if line.trim_start().starts_with("```") && is_shell_fence(line) => {
				anyhow::ensure!(
					line.trim_end() == "```sh",
					"{path}:{}: a shell block opens with ```sh, unindented (found `{line}`)",
					i + 1
				);
				let not_run = match previous.trim().strip_prefix(NOT_RUN) {
					Some(rest) => {
						let reason = rest.trim().strip_suffix("-->").with_context(|| {
							format!("{path}:{i}: the marker ends on its own line with `-->`")
						})?;
						anyhow::ensure!(
							!reason.trim().is_empty(),
							"{path}:{}: a block marked as not run says why",
							i + 1
						);
						Some(reason.trim().to_string())
					},
					None => None,
				};
				open = Some(ShellBlock {
					origin: format!("{path}:{}", i + 1),
					not_run,
					text: String::new(),
				});
			},
			Some(block) if line.trim_end() == "```" => {
				blocks.push(block.clone());
				open = None;
			},
			Some(block) => {
				block.text.push_str(line);
				block.text.push('\n');
			},
			None => {},
		}
		if !line.trim().is_empty() {
			previous = line;
		}
	}
	anyhow::ensure!(open.is_none(), "{path}: a ```sh block is never closed");
	Ok(blocks)
}

/// Whether a fence line opens a shell block (of any spelling: `sh`, `bash`, `shell`, `console`,
/// with attributes or indented).
fn is_shell_fence(line: &str) -> bool {
	let info = line.trim_start().trim_start_matches('`');
	let lang = info.split([' ', '{', ',']).next().unwrap_or("");
	matches!(lang, "sh" | "bash" | "shell" | "console" | "zsh")
}

/// The commands of a block: comment and blank lines dropped, lines ending in `\` joined with
/// the next, a here-document kept with its command.
pub fn commands(block: &str) -> Vec<String> {
	let mut out = Vec::new();
	let mut lines = block.lines();
	while let Some(line) = lines.next() {
		let trimmed = line.trim();
		if trimmed.is_empty() || trimmed.starts_with('#') {
			continue;
		}
		let mut command = line.to_string();
		let mut last = line;
		while last.trim_end().ends_with('\\') {
			let Some(next) = lines.next() else { break };
			command.push('\n');
			command.push_str(next);
			last = next;
		}
		if let Some(delimiter) = here_document(&without_comments(&command)) {
			for next in lines.by_ref() {
				command.push('\n');
				command.push_str(next);
				if next.trim() == delimiter {
					break;
				}
			}
		}
		out.push(command);
	}
	out
}

/// The delimiter of a here-document the command opens (`<<EOF`, `<<'EOF'`, `<<-EOF`).
fn here_document(command: &str) -> Option<String> {
	let rest = command.split("<<").nth(1)?;
	let word: String = rest
		.trim_start_matches('-')
		.trim_start()
		.trim_start_matches(['\'', '"'])
		.chars()
		.take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
		.collect();
	(!word.is_empty()).then_some(word)
}

/// How a command runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
	/// Runs to its end.
	Finishes,
	/// `tessera-node` serving a chain.
	Node,
	/// A miner or validator.
	Peer,
	/// Draws on a terminal (`top` without `--once`): the block must be marked as not run.
	Interactive,
}

/// What kind of command `command` is, by its program and subcommand.
pub fn kind(command: &str) -> Kind {
	let words: Vec<&str> = command.split_whitespace().filter(|w| *w != "\\").collect();
	let program = words.first().copied().unwrap_or("");
	let sub = words.get(1).copied().unwrap_or("");
	if program.ends_with("tessera-node") && (sub.is_empty() || sub.starts_with('-')) {
		return Kind::Node;
	}
	if program.ends_with("offchain-trainer") {
		match sub {
			"miner" | "validator" => return Kind::Peer,
			"top" if !words.contains(&"--once") => return Kind::Interactive,
			_ => {},
		}
	}
	Kind::Finishes
}

/// A finished command: its exit status and what it wrote (standard output and error).
#[derive(Clone, Debug)]
pub struct Outcome {
	/// Exit status.
	pub status: i32,
	/// Standard output and error, interleaved.
	pub output: String,
}

/// A background process the shell started.
struct Daemon {
	pid: i32,
	command: String,
	log: PathBuf,
}

/// One `bash` running the docs' commands; see the module doc.
pub struct DocShell {
	child: tokio::process::Child,
	stdin: tokio::process::ChildStdin,
	stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
	dir: TestDir,
	daemons: Vec<Daemon>,
	replacements: Vec<(String, String)>,
	count: usize,
}

impl DocShell {
	/// A fresh shell in a fresh directory.
	pub async fn start() -> anyhow::Result<Self> {
		let dir = TestDir::new()?;
		let home = dir.path().join("home");
		let cwd = dir.path().join("cwd");
		for sub in [&home.join(".cache/tessera"), &cwd, &dir.path().join("tmp")] {
			std::fs::create_dir_all(sub)?;
		}
		// The docs' `$HOME/.cache/tessera/target/debug` is the binaries the test runs with, and
		// their fetched sources the test's.
		let bin = binary("offchain-trainer")?
			.parent()
			.map(Path::to_path_buf)
			.context("the binary has no directory")?;
		std::fs::create_dir_all(home.join(".cache/tessera/target"))?;
		std::os::unix::fs::symlink(&bin, home.join(".cache/tessera/target/debug"))?;
		let cache = match std::env::var_os("TESSERA_CACHE_DIR") {
			Some(dir) => PathBuf::from(dir),
			None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?)
				.join(".cache/tessera"),
		};
		let sources = cache.join("sources");
		anyhow::ensure!(
			sources.is_dir(),
			"{} is missing: run scripts/fetch-corpus.sh (the README's test command does)",
			sources.display()
		);
		std::os::unix::fs::symlink(&sources, home.join(".cache/tessera/sources"))?;
		std::os::unix::fs::symlink(workspace_root().join("scripts"), cwd.join("scripts"))?;

		let path = std::env::var_os("PATH").unwrap_or_default();
		let mut paths = vec![bin.clone()];
		paths.extend(std::env::split_paths(&path));
		let mut command = tokio::process::Command::new("bash");
		// A newcomer's environment: nothing of the test's (a log filter, a node, a key, a
		// device) reaches the docs' commands.
		command.env_clear();
		for var in ["LANG", "LC_ALL", "USER", "LOGNAME", "SHELL", "TERM"] {
			if let Some(value) = std::env::var_os(var) {
				command.env(var, value);
			}
		}
		command
			.args(["--noprofile", "--norc"])
			.current_dir(&cwd)
			.env("HOME", &home)
			.env("TMPDIR", dir.path().join("tmp"))
			.env("PATH", std::env::join_paths(paths)?)
			.stdin(std::process::Stdio::piped())
			.stdout(std::process::Stdio::piped())
			.stderr(std::process::Stdio::inherit())
			.process_group(0)
			.kill_on_drop(true);
		let mut child = command.spawn().context("starting bash")?;
		let stdin = child.stdin.take().context("bash has no standard input")?;
		let stdout =
			BufReader::new(child.stdout.take().context("bash has no standard output")?).lines();
		// `/tmp/` as a path's start only; the metrics port as the option's value only (port 0:
		// the server takes a free one and logs it).
		let tmp = format!("{}/", dir.path().join("tmp").display());
		let mut replacements: Vec<(String, String)> = [" ", "\"", "'", "="]
			.iter()
			.map(|before| (format!("{before}/tmp/"), format!("{before}{tmp}")))
			.collect();
		replacements.push((
			format!("--metrics-port {DOCUMENTED_METRICS_PORT}"),
			"--metrics-port 0".to_string(),
		));
		std::fs::create_dir_all(dir.path().join("out"))?;
		let mut shell =
			Self { child, stdin, stdout, dir, daemons: Vec::new(), replacements, count: 0 };
		// The shell leads a process group of its own; should the test end without dropping it
		// (killed by the test runner), a watchdog stops the group once the test is gone.
		let watchdog = format!(
			"( while kill -0 {} 2>/dev/null; do sleep 1; done; kill -KILL 0 ) \
			 > /dev/null 2>&1 < /dev/null &\n",
			std::process::id()
		);
		shell.stdin.write_all(watchdog.as_bytes()).await?;
		Ok(shell)
	}

	/// The shell's working directory (where the docs' relative paths land).
	pub fn cwd(&self) -> PathBuf {
		self.dir.path().join("cwd")
	}

	/// `command` as the shell runs it (see the module doc).
	fn rewrite(&self, command: &str) -> String {
		let mut out = command.to_string();
		for (from, to) in &self.replacements {
			out = out.replace(from, to);
		}
		out
	}

	/// Sends `script` and waits (up to `limit`) for the number it prints after [`DONE`].
	async fn send(&mut self, script: &str, limit: Duration) -> anyhow::Result<i32> {
		self.stdin.write_all(script.as_bytes()).await?;
		self.stdin.flush().await?;
		let read = async {
			while let Some(line) = self.stdout.next_line().await? {
				if let Some(rest) = line.strip_prefix(DONE) {
					return rest.trim().parse::<i32>().context("the shell's status line");
				}
			}
			bail!("the shell exited")
		};
		tokio::time::timeout(limit, read)
			.await
			.map_err(|_| anyhow::anyhow!("still running after {limit:?}"))?
	}

	/// Runs `command` to its end (up to `limit`).
	pub async fn run(&mut self, command: &str, limit: Duration) -> anyhow::Result<Outcome> {
		let command = self.rewrite(command);
		self.count += 1;
		let out = self.dir.path().join(format!("out/{}.txt", self.count));
		let script = format!(
			"{{\n{command}\n}} > '{}' 2>&1 < /dev/null\necho \"{DONE} $?\"\n",
			out.display()
		);
		let status = self.send(&script, limit).await;
		let output = std::fs::read_to_string(&out).unwrap_or_default();
		match status {
			Ok(status) => Ok(Outcome { status, output }),
			Err(e) => bail!("{e}:\n$ {command}\n{output}"),
		}
	}

	/// Starts `command` in the background, its output in a log file; its pid and log.
	async fn spawn(&mut self, command: &str) -> anyhow::Result<(i32, PathBuf)> {
		let command = self.rewrite(&without_comments(command));
		self.count += 1;
		let log = self.dir.path().join(format!("out/{}.log", self.count));
		let script =
			format!("{command} > '{}' 2>&1 < /dev/null &\necho \"{DONE} $!\"\n", log.display());
		let pid = self.send(&script, Duration::from_secs(10)).await?;
		self.daemons.push(Daemon { pid, command, log: log.clone() });
		Ok((pid, log))
	}

	/// Starts a documented `tessera-node` on ports it picks, waits for its RPC server and
	/// exports its address as `TESSERA_NODE_URL`.
	pub async fn start_node(&mut self, command: &str) -> anyhow::Result<String> {
		let command = format!(
			"{} --rpc-port 0 --listen-addr /ip4/127.0.0.1/tcp/0 --no-prometheus --no-telemetry \
			 --no-mdns",
			without_comments(command).trim_end()
		);
		let (pid, log) = self.spawn(&command).await?;
		let deadline = Instant::now() + Duration::from_secs(120);
		let address = loop {
			let text = std::fs::read_to_string(&log).unwrap_or_default();
			if let Some(address) = text
				.split("Running JSON-RPC server: addr=")
				.nth(1)
				.and_then(|rest| rest.split([',', ' ', '\n']).next())
			{
				break address.to_string();
			}
			anyhow::ensure!(alive(pid), "the node exited:\n{text}");
			anyhow::ensure!(Instant::now() < deadline, "no RPC server after 2 minutes:\n{text}");
			tokio::time::sleep(Duration::from_millis(200)).await;
		};
		let url = format!("ws://{address}");
		let set =
			self.run(&format!("export TESSERA_NODE_URL={url}"), Duration::from_secs(10)).await?;
		anyhow::ensure!(set.status == 0, "exporting TESSERA_NODE_URL: {}", set.output);
		Ok(url)
	}

	/// Starts a documented miner or validator in the background.
	pub async fn start_peer(&mut self, command: &str) -> anyhow::Result<PathBuf> {
		Ok(self.spawn(command).await?.1)
	}

	/// An error naming every background process that has exited, with its log's end.
	pub fn check_daemons(&self) -> anyhow::Result<()> {
		for daemon in &self.daemons {
			if !alive(daemon.pid) {
				let log = std::fs::read_to_string(&daemon.log).unwrap_or_default();
				let tail: Vec<&str> = log.lines().rev().take(40).collect();
				let tail: Vec<&str> = tail.into_iter().rev().collect();
				bail!("`{}` exited:\n{}", daemon.command, tail.join("\n"));
			}
		}
		Ok(())
	}

	/// Waits (up to `limit`, reading every second) until the log of the background process
	/// whose command contains `process` shows `text`; an error has the log's end.
	pub async fn wait_for_log(
		&self,
		process: &str,
		text: &str,
		limit: Duration,
	) -> anyhow::Result<()> {
		let daemon = self
			.daemons
			.iter()
			.find(|d| d.command.contains(process))
			.with_context(|| format!("no background `{process}`"))?;
		let deadline = Instant::now() + limit;
		loop {
			let log = std::fs::read_to_string(&daemon.log).unwrap_or_default();
			if log.contains(text) {
				return Ok(());
			}
			self.check_daemons()?;
			if Instant::now() >= deadline {
				let tail: Vec<&str> = log.lines().rev().take(40).collect();
				let tail: Vec<&str> = tail.into_iter().rev().collect();
				bail!("`{process}` never logged `{text}` in {limit:?}:\n{}", tail.join("\n"));
			}
			tokio::time::sleep(Duration::from_secs(1)).await;
		}
	}
}

/// What a documented command must show. The first expectation whose `command` the command
/// contains applies; every expectation must apply to some command of the page (a check the
/// docs no longer give a chance fails).
#[derive(Clone, Copy, Debug)]
pub struct Expect {
	/// Text the command contains.
	pub command: &'static str,
	/// Texts its output contains, each.
	pub shows: &'static [&'static str],
	/// Texts its output must not contain.
	pub lacks: &'static [&'static str],
	/// It exits with a failure (and says why, in `shows`).
	pub fails: bool,
	/// Run it again, every 2 s, until its output shows all of `shows`, for up to this long
	/// (a command that reads what the network has yet to do).
	pub until: Option<Duration>,
}

impl Expect {
	/// `command` must succeed and show `shows`.
	pub const fn shows(command: &'static str, shows: &'static [&'static str]) -> Self {
		Self { command, shows, lacks: &[], fails: false, until: None }
	}
}

/// The longest a command that finishes may run.
const COMMAND_LIMIT: Duration = Duration::from_secs(300);

impl DocShell {
	/// Runs every block of `path` not marked as not run, in order, checking `expect`; an error
	/// names the block's place, the command and what it wrote.
	pub async fn run_page(&mut self, path: &str, expect: &[Expect]) -> anyhow::Result<()> {
		let mut used = vec![false; expect.len()];
		for block in shell_blocks(path)? {
			if block.not_run.is_some() {
				continue;
			}
			for command in commands(&block.text) {
				let origin = format!("{}: {}", block.origin, command.lines().next().unwrap_or(""));
				eprintln!("--- {origin}");
				match kind(&command) {
					Kind::Node => {
						let url = self.start_node(&command).await.context(origin)?;
						eprintln!("node at {url}");
						continue;
					},
					Kind::Peer => {
						self.start_peer(&command).await.context(origin)?;
						continue;
					},
					Kind::Interactive => bail!(
						"{origin}: draws on a terminal; mark its block `{NOT_RUN} REASON -->`"
					),
					Kind::Finishes => {},
				}
				let check = expect.iter().position(|e| command.contains(e.command));
				if let Some(i) = check {
					used[i] = true;
				}
				let check = check.map(|i| expect[i]);
				let deadline = Instant::now() + check.and_then(|c| c.until).unwrap_or_default();
				loop {
					let outcome =
						self.run(&command, COMMAND_LIMIT).await.context(origin.clone())?;
					eprintln!("{}", outcome.output);
					match verdict(&outcome, check) {
						Ok(()) => break,
						Err(why) if Instant::now() < deadline => {
							// A peer that died will not bring what is awaited: say so now.
							self.check_daemons().context(origin.clone())?;
							eprintln!("(again: {why})");
							tokio::time::sleep(Duration::from_secs(2)).await;
						},
						Err(why) => bail!(
							"{origin}: {why}\n$ {command}\n(status {})\n{}",
							outcome.status,
							outcome.output
						),
					}
				}
				self.check_daemons().context(origin)?;
			}
		}
		for (e, used) in expect.iter().zip(used) {
			anyhow::ensure!(used, "{path}: no command contains `{}` any more", e.command);
		}
		Ok(())
	}
}

/// Whether `outcome` is what `check` (or, without one, a plain success) asks.
fn verdict(outcome: &Outcome, check: Option<Expect>) -> Result<(), String> {
	let fails = check.is_some_and(|c| c.fails);
	match (fails, outcome.status) {
		(false, 0) | (true, 1..) => {},
		(false, status) => return Err(format!("it failed (status {status})")),
		(true, _) => return Err("it succeeded where it should fail".to_string()),
	}
	for text in check.map_or(&[][..], |c| c.shows) {
		if !outcome.output.contains(text) {
			return Err(format!("its output lacks `{text}`"));
		}
	}
	for text in check.map_or(&[][..], |c| c.lacks) {
		if outcome.output.contains(text) {
			return Err(format!("its output shows `{text}`"));
		}
	}
	Ok(())
}

impl Drop for DocShell {
	fn drop(&mut self) {
		use nix::sys::signal::{SIGKILL, SIGTERM, killpg};
		use nix::unistd::Pid;
		// The shell leads its own process group, which holds everything it started.
		let Some(id) = self.child.id() else { return };
		let group = Pid::from_raw(id as i32);
		let _ = killpg(group, SIGTERM);
		let deadline = Instant::now() + Duration::from_secs(20);
		while self.daemons.iter().any(|d| alive(d.pid)) && Instant::now() < deadline {
			std::thread::sleep(Duration::from_millis(100));
		}
		let _ = killpg(group, SIGKILL);
	}
}

/// `command` with each line's trailing `# comment` taken away (so that words added after it,
/// or `&`, are not commented out).
fn without_comments(command: &str) -> String {
	let lines: Vec<String> = command
		.lines()
		.map(|line| {
			let (mut single, mut double, mut previous) = (false, false, ' ');
			for (i, c) in line.char_indices() {
				match c {
					'\'' if !double => single = !single,
					'"' if !single => double = !double,
					'#' if !single && !double && previous.is_whitespace() => {
						return line[..i].trim_end().to_string();
					},
					_ => {},
				}
				previous = c;
			}
			line.to_string()
		})
		.collect();
	lines.join("\n")
}

/// Whether process `pid` runs (exists and is not a zombie).
fn alive(pid: i32) -> bool {
	match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
		// The state follows the command name, which is in parentheses.
		Ok(stat) => stat.rsplit(')').next().and_then(|s| s.split_whitespace().next()) != Some("Z"),
		Err(_) => false,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn commands_keep_continuations_and_here_documents_whole() {
		let block = "# a comment\nbin=/x\n$bin/a --b \\\n    --c\n\ncat > f <<EOF\nk = \"v\"\nEOF\n$bin/d  # why\n";
		assert_eq!(
			commands(block),
			vec![
				"bin=/x",
				"$bin/a --b \\\n    --c",
				"cat > f <<EOF\nk = \"v\"\nEOF",
				"$bin/d  # why"
			]
		);
	}

	#[test]
	fn kinds_follow_the_program_and_subcommand() {
		assert_eq!(kind("$bin/tessera-node --dev --block-time-ms 1000"), Kind::Node);
		assert_eq!(kind("$bin/tessera-node --dev"), Kind::Node);
		assert_eq!(kind("tessera-node key insert --keystore-path k"), Kind::Finishes);
		assert_eq!(kind("$bin/offchain-trainer miner --config miner.toml"), Kind::Peer);
		assert_eq!(
			kind("$bin/offchain-trainer validator --suri //Dave \\\n  --corpus c"),
			Kind::Peer
		);
		assert_eq!(kind("$bin/offchain-trainer top --report r.jsonl"), Kind::Interactive);
		assert_eq!(kind("$bin/offchain-trainer top --once"), Kind::Finishes);
		assert_eq!(kind("offchain-trainer audit top"), Kind::Finishes);
	}

	#[test]
	fn trailing_comments_are_cut_outside_quotes_only() {
		assert_eq!(
			without_comments("$bin/tessera-node --dev   # or this"),
			"$bin/tessera-node --dev"
		);
		assert_eq!(without_comments("a '#x' \"# y\" b#c # d"), "a '#x' \"# y\" b#c");
		assert_eq!(without_comments("a \\\n  b  # c"), "a \\\n  b");
	}

	#[test]
	fn blocks_carry_their_marker_and_odd_fences_are_refused() {
		let text = "# T\n\n<!-- not run by the docs test: needs a GPU -->\n```sh\na\n```\n\n```sh\nb\n```\n";
		let blocks = blocks_of("p.md", text).unwrap();
		assert_eq!(blocks.len(), 2);
		assert_eq!(blocks[0].not_run.as_deref(), Some("needs a GPU"));
		assert_eq!((blocks[1].not_run.as_deref(), blocks[1].text.as_str()), (None, "b\n"));
		assert_eq!(blocks[1].origin, "p.md:8");
		for bad in [
			"<!-- not run by the docs test: -->\n```sh\na\n```\n",
			"<!-- not run by the docs test: why\n```sh\na\n```\n",
			"```bash\na\n```\n",
			"  ```sh\na\n```\n",
			"```sh\na\n",
		] {
			assert!(blocks_of("p.md", bad).is_err(), "{bad}");
		}
	}

	#[test]
	fn a_here_document_s_delimiter_is_found_quoted_or_not() {
		assert_eq!(here_document("cat > f <<EOF").as_deref(), Some("EOF"));
		assert_eq!(here_document("cat > f <<'END'").as_deref(), Some("END"));
		assert_eq!(here_document("cat > f <<-EOF").as_deref(), Some("EOF"));
		assert_eq!(here_document("echo a"), None);
	}
}
