//! End to end: `offchain-trainer devnet` (the README's main command) starts a node, an S3
//! object store, three miners and a validator as real processes, runs to the requested window
//! with every θ agreeing and the held-out loss falling, and leaves a summary table and a PNG
//! plot; `offchain-trainer audit` then reads the same story from the chain — from the running
//! node, and from the stopped node's database. Ctrl-C (SIGINT) stops it and every child process.

use std::{path::Path, process::Stdio, time::Duration};
use tessera_e2e::{TestDir, binary, corpus};
use tokio::process::Command;

fn devnet(dir: &Path, corpus: &Path, windows: u64) -> anyhow::Result<Command> {
	let mut c = Command::new(binary("offchain-trainer")?);
	c.args(["devnet", "--model", "tiny", "--windows", &windows.to_string()])
		.args(["--block-time-ms", "1000", "--inner-steps", "8", "--batch-size", "4"])
		.args(["--lr", "3e-3", "--threads", "1", "--quiet"])
		.arg("--corpus")
		.arg(corpus)
		.arg("--dir")
		.arg(dir)
		.arg("--node-bin")
		.arg(binary("tessera-node")?)
		.stdin(Stdio::null())
		.kill_on_drop(true);
	Ok(c)
}

#[tokio::test(flavor = "multi_thread")]
async fn devnet_runs_the_whole_network_and_shows_it_learning() -> anyhow::Result<()> {
	let corpus = corpus()?;
	let dir = TestDir::new()?;
	let out = devnet(dir.path(), &corpus, 4)?.arg("--s3").output();
	let out = tokio::time::timeout(Duration::from_secs(420), out).await??;
	let stdout = String::from_utf8_lossy(&out.stdout);
	let stderr = String::from_utf8_lossy(&out.stderr);
	assert!(out.status.success(), "devnet failed: {}\n{stdout}\n{stderr}", out.status);
	for w in 1..=4 {
		let row = stdout
			.lines()
			.find(|l| l.split_whitespace().next() == Some(&w.to_string()))
			.unwrap_or_else(|| panic!("no row for window {w}:\n{stdout}"));
		assert!(row.contains("agreed"), "every θ agrees in window {w}: {row}");
	}
	let losses: Vec<f32> = stdout
		.lines()
		.find_map(|l| l.strip_prefix("held-out loss "))
		.map(|l| l.split(" → ").filter_map(|x| x.trim().parse().ok()).collect())
		.unwrap_or_default();
	assert!(losses.len() == 2 && losses[1] < losses[0] - 0.2, "loss falls: {losses:?}\n{stdout}");
	// Each miner's utilisation: its inner loop's share of the windows, a percentage.
	let utilisation = stdout
		.lines()
		.find_map(|l| {
			l.strip_prefix("miner utilisation (training time / window time, windows 1–4): ")
		})
		.unwrap_or_else(|| panic!("no utilisation line:\n{stdout}"));
	for name in ["alice", "bob", "charlie"] {
		let share: f64 = utilisation
			.split(", ")
			.find_map(|c| c.strip_prefix(&format!("{name} ")))
			.and_then(|c| c.strip_suffix(" %"))
			.and_then(|c| c.parse().ok())
			.unwrap_or_else(|| panic!("no share for {name}: {utilisation}"));
		assert!(
			share > 0.0 && share <= 100.0,
			"{name} trained {share} % of the time: {utilisation}"
		);
	}
	// Each process's peak memory, miners against the state they must hold (issue 23 item 5).
	let memory = stdout
		.lines()
		.find_map(|l| l.strip_prefix("peak memory (resident, per process): "))
		.unwrap_or_else(|| panic!("no memory line:\n{stdout}"));
	for name in ["node", "dave", "alice", "bob", "charlie"] {
		let mb: f64 = memory
			.split(", ")
			.find_map(|c| c.strip_prefix(&format!("{name} ")))
			.and_then(|c| c.split(" MB").next())
			.and_then(|c| c.parse().ok())
			.unwrap_or_else(|| panic!("no peak for {name}: {memory}"));
		assert!(mb > 1.0 && mb < 20_000.0, "{name}: {mb} MB: {memory}");
	}
	assert!(memory.contains("alice ") && memory.contains("× the "), "{memory}");
	let png = std::fs::read(dir.path().join("devnet.png"))?;
	assert_eq!(&png[1..4], b"PNG");
	for name in ["alice", "bob", "charlie", "dave"] {
		assert!(dir.path().join(format!("{name}.jsonl")).is_file(), "{name}'s report");
	}

	// The audit, from the stopped devnet's database, agrees with what the peers reported.
	let audit = |args: &[&str]| -> anyhow::Result<String> {
		let out = std::process::Command::new(binary("offchain-trainer")?)
			.arg("audit")
			.arg("--db")
			.arg(dir.path().join("node"))
			.arg("--node-bin")
			.arg(binary("tessera-node")?)
			.args(args)
			.output()?;
		anyhow::ensure!(
			out.status.success(),
			"audit {args:?}: {}",
			String::from_utf8_lossy(&out.stderr)
		);
		Ok(String::from_utf8(out.stdout)?)
	};
	let window: serde_json::Value = serde_json::from_str(&audit(&["--json", "window", "3"])?)?;
	let scored = tessera_peer::report::Report::read(&dir.path().join("dave.jsonl"))?
		.into_iter()
		.find_map(|r| match r {
			tessera_peer::report::Record::Scored { window: 3, peers, theta_hash, .. } => {
				Some((peers, theta_hash))
			},
			_ => None,
		})
		.ok_or_else(|| anyhow::anyhow!("Dave scored window 3"))?;
	assert_eq!(window["theta_hash"].as_str(), Some(scored.1.as_str()), "θ hash of window 3");
	for p in &scored.0 {
		let on_chain = window["peers"]
			.as_array()
			.and_then(|a| a.iter().find(|x| x["account"].as_str() == Some(p.peer.as_str())))
			.and_then(|x| x["score"].as_f64())
			.ok_or_else(|| anyhow::anyhow!("{} in the audit: {window}", p.peer))?;
		assert!(
			(on_chain - p.final_score).abs() < 1e-6,
			"{}: {on_chain} vs {}",
			p.peer,
			p.final_score
		);
	}
	let plot = dir.path().join("alice.png");
	let plot_arg = plot.to_string_lossy().to_string();
	let csv =
		audit(&["--csv", "peer", "//Alice", "--from", "1", "--to", "4", "--plot", &plot_arg])?;
	assert_eq!(csv.lines().count(), 5, "a header and windows 1–4: {csv}");
	assert_eq!(&std::fs::read(&plot)?[1..4], b"PNG");
	let top = audit(&["top"])?;
	for name in ["Alice", "Bob", "Charlie"] {
		assert!(top.contains(name), "{name} in the standings:\n{top}");
	}
	Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_the_devnet_and_every_child_process() -> anyhow::Result<()> {
	let corpus = corpus()?;
	let dir = TestDir::new()?;
	let mut child =
		devnet(dir.path(), &corpus, 50)?.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
	// Wait until the network runs: the node and all peers started, a window applied.
	let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
	let report = dir.path().join("alice.jsonl");
	while !std::fs::read_to_string(&report).is_ok_and(|r| r.contains("\"applied\"")) {
		anyhow::ensure!(tokio::time::Instant::now() < deadline, "the devnet never got going");
		anyhow::ensure!(child.try_wait()?.is_none(), "the devnet exited early");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let processes: serde_json::Value =
		serde_json::from_str(&std::fs::read_to_string(dir.path().join("processes.json"))?)?;
	let pids: Vec<i32> = processes
		.as_array()
		.map(|a| a.iter().filter_map(|p| p["pid"].as_i64()).map(|p| p as i32).collect())
		.unwrap_or_default();
	assert_eq!(pids.len(), 5, "node, validator and three miners: {processes}");
	// The audit reads the running network.
	let log = std::fs::read_to_string(dir.path().join("node.log"))?;
	let addr = log
		.split("Running JSON-RPC server: addr=")
		.nth(1)
		.and_then(|r| r.split([',', ' ', '\n']).next())
		.ok_or_else(|| anyhow::anyhow!("the node's RPC address in its log"))?;
	let top = Command::new(binary("offchain-trainer")?)
		.args(["audit", "--url", &format!("ws://{addr}"), "--json", "top"])
		.output()
		.await?;
	assert!(top.status.success(), "{}", String::from_utf8_lossy(&top.stderr));
	let rows: serde_json::Value = serde_json::from_slice(&top.stdout)?;
	assert_eq!(rows.as_array().map(Vec::len), Some(3), "three miners: {rows}");
	let pid = child.id().map(|p| p as i32).ok_or_else(|| anyhow::anyhow!("no pid"))?;
	nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGINT)?;
	let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await??;
	assert!(!status.success(), "an interrupted devnet says so: {status}");
	for p in pids {
		assert!(!Path::new(&format!("/proc/{p}")).exists(), "process {p} still runs");
	}
	Ok(())
}

/// How much lower the held-out loss must be after the last window than before training; the
/// README states it (`REPRODUCES`). The losses in between depend on how many inner steps the
/// machine fits (CI at a5f74cf and runs here differed by up to 0.4) and on the data each window
/// draws from the chain's randomness, so each window is only held to staying below the loss
/// before training and at most [`MOST_RISE`] above the lowest before it; the initial loss
/// (before any step) is exact.
const LEAST_FALL: f32 = 1.0;
/// How far one window's held-out loss may rise above the lowest before it. Near 6.5 a window's
/// data can leave the loss where it was: CI at 04bd63e read 6.532 then 6.551 (+0.019), a run
/// here 6.490 then 6.492; of 17 recorded runs' fourth windows the rest fell 0.07 to 0.38.
const MOST_RISE: f32 = 0.15;
const REPRODUCES: &str = "the held-out loss 8.359 before training, below it after every window \
	and never more than 0.15 above the lowest before, and at least 1.0 lower after window 4";

/// `text` with every run of whitespace one space (a sentence across wrapped lines).
fn squash(text: &str) -> String {
	text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One row of the devnet's summary table: window, held-out loss, updates included, θ, and
/// the rest of the line (each miner's score and flags).
fn summary_rows(text: &str) -> Vec<(u64, f32, u64, String, String)> {
	let Some(start) = text.lines().position(|l| l.starts_with("window   held-out")) else {
		return Vec::new();
	};
	text.lines()
		.skip(start + 1)
		.take_while(|l| !l.trim().is_empty())
		.filter_map(|l| {
			let mut cols = l.split_whitespace();
			let window = cols.next()?.parse().ok()?;
			let loss = cols.next()?.parse().ok()?;
			let included = cols.next()?.parse().ok()?;
			let theta = cols.next()?.to_string();
			Some((window, loss, included, theta, cols.collect::<Vec<_>>().join(" ")))
		})
		.collect()
}

/// `held-out loss A → B`.
fn loss_line(text: &str) -> Vec<f32> {
	text.lines()
		.find_map(|l| l.strip_prefix("held-out loss "))
		.map(|l| l.split(" → ").filter_map(|x| x.trim().parse().ok()).collect())
		.unwrap_or_default()
}

/// What each peer's log says of windows it sat out, refusals, warnings and errors, with each
/// miner's training timeline (start, early stop, end, commitment) and the node's block imports
/// (ANSI colours removed): printed when the README test fails, so a CI log names the cause,
/// down to a chain that slowed or a step that overran.
fn notable_log_lines(dir: &Path) -> String {
	let Ok(entries) = std::fs::read_dir(dir) else { return String::new() };
	let mut logs: Vec<_> = entries
		.filter_map(|e| e.ok().map(|e| e.path()))
		.filter(|p| p.extension().is_some_and(|x| x == "log"))
		.collect();
	logs.sort();
	let mut out = String::new();
	for log in logs {
		let Ok(text) = std::fs::read_to_string(&log) else { continue };
		let notable: Vec<String> = text
			.lines()
			.map(tessera_e2e::peers::strip_ansi)
			.filter(|l| {
				[
					"WARN",
					"ERROR",
					"sitting the window out",
					"refused",
					"too late",
					"missing",
					"training window=",
					"inner loop stops early",
					"a last step on fewer sequences",
					"window trained",
					"update committed",
					"Imported #",
				]
				.iter()
				.any(|m| l.contains(m))
			})
			.collect();
		out.push_str(&format!("--- {} ({} notable lines)\n", log.display(), notable.len()));
		// The last lines: a failure is in the later windows, after the start-up warnings.
		for l in &notable[notable.len().saturating_sub(60)..] {
			out.push_str(l);
			out.push('\n');
		}
	}
	out
}

/// The devnet's output against the README: see the test below.
fn holds_to_the_readme(
	stdout: &str,
	status: std::process::ExitStatus,
	expected: &[(u64, f32, u64, String, String)],
	expected_loss: &[f32],
) -> anyhow::Result<()> {
	anyhow::ensure!(status.success(), "devnet failed: {status}");
	let rows = summary_rows(stdout);
	anyhow::ensure!(rows.len() == expected.len(), "one row per window");
	let mut lowest = expected_loss[0];
	for (row, want) in rows.iter().zip(expected) {
		let (w, loss, included, theta, scores) = row;
		anyhow::ensure!(*w == want.0, "window order");
		anyhow::ensure!(
			(*included, theta) == (want.2, &want.3),
			"window {w}: {included} included, θ {theta}; the README says {} and {}",
			want.2,
			want.3
		);
		anyhow::ensure!(
			*loss < expected_loss[0],
			"window {w}: held-out {loss}, not lower than {} before training",
			expected_loss[0]
		);
		anyhow::ensure!(
			*loss <= lowest + MOST_RISE,
			"window {w}: held-out {loss}, more than {MOST_RISE} above the lowest before it \
			 ({lowest})"
		);
		lowest = lowest.min(*loss);
		// Three cells, each a score: none missing (`-`), none with a flag after it.
		let cells: Vec<&str> = scores.split_whitespace().collect();
		anyhow::ensure!(
			cells.len() == 3
				&& cells.iter().all(|c| c.parse::<f64>().is_ok_and(|s| (0.0..=1.0).contains(&s))),
			"window {w}: every miner scored, nothing flagged: {row:?}"
		);
	}
	let loss = loss_line(stdout);
	anyhow::ensure!(loss.len() == 2, "a held-out loss line");
	anyhow::ensure!(
		(loss[0] - expected_loss[0]).abs() < 1e-3,
		"the initial loss {} is the README's {}",
		loss[0],
		expected_loss[0]
	);
	anyhow::ensure!(
		loss[1] <= loss[0] - LEAST_FALL,
		"final held-out {}: not {LEAST_FALL} below the initial {}",
		loss[1],
		loss[0]
	);
	Ok(())
}

/// The README test's checks, on the README's own run and on runs that must fail them: a
/// window with an update missing (CI at a5f74cf), a loss that rose too far or above the loss
/// before training, too small a fall; and a run whose loss rose a little, which passes.
#[test]
fn the_readme_checks_refuse_what_the_readme_rules_out() {
	let readme = include_str!("../../README.md");
	let (expected, expected_loss) = (summary_rows(readme), loss_line(readme));
	let ok = std::process::ExitStatus::default();
	let check = |text: &str| holds_to_the_readme(text, ok, &expected, &expected_loss);
	assert!(check(readme).is_ok(), "{:?}", check(readme));
	// Window 4 with nothing included: the loss stays where it was.
	let rows: Vec<&str> = readme.lines().filter(|l| l.trim_start().starts_with("4 ")).collect();
	assert_eq!(rows.len(), 1, "one window-4 row in the README");
	// The README's own losses after windows 3 and 4, as written there.
	let loss_of =
		|w: u64| expected.iter().find(|r| r.0 == w).map(|r| format!("{:.3}", r.1)).unwrap();
	let (third, fourth) = (loss_of(3), loss_of(4));
	let missing = readme.replace(
		rows[0],
		&format!(
			"     4      {third}         0  agreed   0.000 missing   0.000 missing   0.000 missing"
		),
	);
	assert!(check(&missing).is_err_and(|e| e.to_string().contains("0 included")));
	// A rise a window's data can bring passes; one beyond MOST_RISE does not.
	let replace_fourth = |by: &str| readme.replace(rows[0], &rows[0].replacen(&fourth, by, 1));
	let third_loss = third.parse::<f32>().unwrap();
	let little = replace_fourth(&format!("{:.3}", third_loss + 0.05));
	assert!(check(&little).is_ok(), "{:?}", check(&little));
	let risen = replace_fourth(&format!("{:.3}", third_loss + 0.2));
	assert!(check(&risen).is_err_and(|e| e.to_string().contains("above the lowest")));
	let above_initial = replace_fourth("8.400");
	assert!(check(&above_initial).is_err_and(|e| e.to_string().contains("before training")));
	let short =
		readme.replace(&format!("held-out loss 8.359 → {fourth}"), "held-out loss 8.359 → 7.400");
	assert_ne!(short, readme, "the README's held-out loss line");
	assert!(check(&short).is_err_and(|e| e.to_string().contains("below the initial")));
}

/// Issue 24 item 1: the README's devnet figures are what a fresh clone shows. Runs
/// `offchain-trainer devnet` with the README's defaults (what `scripts/devnet.sh` runs: the
/// `small` model, 4 windows of 10 × 10 s blocks) and holds its summary against the README's
/// table: every window's updates all included and θ agreed as printed, every miner scored and
/// unflagged in every window, the held-out loss before training exactly, below it after every
/// window and at most [`MOST_RISE`] above the lowest before, and at least [`LEAST_FALL`] lower
/// at the end. (Scores, utilisation and the losses
/// after each window vary with the machine's speed and are not compared.)
#[tokio::test(flavor = "multi_thread")]
async fn the_readme_s_devnet_figures_are_what_a_fresh_clone_shows() -> anyhow::Result<()> {
	let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))?;
	assert!(
		squash(&readme).contains(REPRODUCES),
		"the README states what every run shows: {REPRODUCES}"
	);
	let expected = summary_rows(&readme);
	assert_eq!(expected.len(), 4, "the README's table has windows 1–4");
	let expected_loss = loss_line(&readme);
	assert_eq!(expected_loss.len(), 2, "the README's held-out loss line");

	let corpus = corpus()?;
	let dir = TestDir::new()?;
	// Its own process group: on a time-out the node and the peers it started go with it.
	let child = Command::new(binary("offchain-trainer")?)
		.args(["devnet", "--quiet"])
		.arg("--corpus")
		.arg(&corpus)
		.arg("--dir")
		.arg(dir.path())
		.arg("--node-bin")
		.arg(binary("tessera-node")?)
		.stdin(Stdio::null())
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.process_group(0)
		.kill_on_drop(true)
		.spawn()?;
	let group = child.id().map(|p| nix::unistd::Pid::from_raw(p as i32));
	let out = match tokio::time::timeout(Duration::from_secs(1080), child.wait_with_output()).await
	{
		Ok(out) => out?,
		Err(_) => {
			if let Some(group) = group {
				let _ = nix::sys::signal::killpg(group, nix::sys::signal::SIGKILL);
			}
			anyhow::bail!("the devnet still ran after 18 minutes");
		},
	};
	let stdout = String::from_utf8_lossy(&out.stdout);
	if let Err(failure) = holds_to_the_readme(&stdout, out.status, &expected, &expected_loss) {
		panic!("{failure}\n{stdout}\n{}", notable_log_lines(dir.path()));
	}
	// The run's table, for the README when its figures are renewed (`--no-capture` shows it).
	println!("{stdout}");
	Ok(())
}
