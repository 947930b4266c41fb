//! Every shell example of the README and `docs/` runs as written, or says why not: the pages a
//! newcomer follows — `docs/mining.md` from a fresh dev chain to a scored window, then
//! `docs/runtime-api.md`'s audit commands and `docs/PERFORMANCE.md`'s simulation against that
//! same network, and the README's "Running peers yourself" on a chain of its own — run block
//! by block in one shell each (`tessera_e2e::shell_docs`), with each command's output checked
//! where it says something the docs promise. Every other block carries a marker naming the
//! reason and where it is tested instead.

use std::time::Duration;
use tessera_e2e::shell_docs::{DocShell, Expect, Kind, commands, kind, shell_blocks};

/// The pages whose blocks run; every block elsewhere is marked as not run.
const RUN: &[&str] = &["README.md", "docs/mining.md", "docs/runtime-api.md", "docs/PERFORMANCE.md"];

/// Alice's SS58 address.
const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

/// Long enough for the walk-through's network to reach a window's verdict on a busy machine.
const NETWORK: Option<Duration> = Some(Duration::from_secs(420));

fn pages() -> anyhow::Result<Vec<String>> {
	let root = tessera_e2e::workspace_root();
	let mut pages = vec!["README.md".to_string()];
	for entry in std::fs::read_dir(root.join("docs"))? {
		let name = entry?.file_name().to_string_lossy().into_owned();
		if name.ends_with(".md") {
			pages.push(format!("docs/{name}"));
		}
	}
	pages.sort();
	Ok(pages)
}

#[test]
fn every_shell_example_runs_or_says_why_not() -> anyhow::Result<()> {
	let mut run = 0;
	for page in pages()? {
		for block in shell_blocks(&page)? {
			if let Some(reason) = &block.not_run {
				// A reason naming an end-to-end test names one that exists.
				for named in reason.split("tessera-e2e::").skip(1) {
					let binary: String =
						named.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
					let file =
						tessera_e2e::workspace_root().join(format!("tests/tests/{binary}.rs"));
					anyhow::ensure!(
						file.is_file(),
						"{}: the reason names tessera-e2e::{binary}, which does not exist",
						block.origin
					);
				}
				continue;
			}
			anyhow::ensure!(
				RUN.contains(&page.as_str()),
				"{}: no test runs {page}'s blocks: run the page in tests/tests/docs_shell.rs, or \
				 mark the block `<!-- not run by the docs test: REASON -->`",
				block.origin
			);
			for command in commands(&block.text) {
				anyhow::ensure!(
					kind(&command) != Kind::Interactive,
					"{}: `{command}` draws on a terminal: mark its block as not run",
					block.origin
				);
				run += 1;
			}
		}
	}
	assert!(run >= 30, "only {run} documented commands run");
	Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mining_walkthrough_runs_as_written() -> anyhow::Result<()> {
	let mut shell = DocShell::start().await?;
	let mining = [
		Expect::shows("offchain-trainer corpus", &["vocabulary 4096"]),
		Expect::shows("start-run", &["run started", "top k                   64"]),
		Expect::shows("audit run", &["inner peak lr           0.003", "inner steps             8"]),
		Expect::shows("account new", &["key file"]),
		Expect::shows("account inspect --key-file ~/.config", &["public key"]),
		Expect::shows("account transfer", &["sent 1200 TSR"]),
		Expect::shows("account register", &["registered as a miner"]),
		Expect::shows("account stake", &["bonded 1000 TSR"]),
		Expect::shows("account unstake", &["unbonding 250 TSR"]),
		Expect::shows("account deregister", &["is leaving"]),
		Expect {
			command: "account withdraw",
			shows: &["nothing has come free yet"],
			lacks: &[],
			fails: true,
			until: None,
		},
		Expect::shows("account status //Bob", &["miner"]),
		// The first window of Alice's miner with a verdict, then window 3's.
		Expect {
			command: "audit peer //Alice",
			shows: &[ALICE, "scored window(s)"],
			lacks: &["over 0 scored"],
			fails: false,
			until: NETWORK,
		},
		Expect {
			command: "audit window 3",
			shows: &["verdict: 1 validator(s)"],
			lacks: &[],
			fails: false,
			until: NETWORK,
		},
		// Dev accounts by name; the account made above, leaving.
		Expect::shows("audit top", &["Alice", "leaving"]),
		Expect::shows("top --once", &["Alice", "validator(s) agree"]),
	];
	shell.run_page("docs/mining.md", &mining).await?;
	let runtime_api = [
		Expect::shows("audit window 3", &["verdict: 1 validator(s)"]),
		// Earnings in TSR beside each window.
		Expect::shows("--plot alice.png", &["plot: alice.png", " TSR  "]),
		Expect::shows("audit top --json", &[ALICE]),
		Expect::shows("parameters", &["peer_deposit               100000000000000"]),
		Expect::shows("audit --at 50 top", &["rank", "Alice"]),
		Expect::shows("audit --at-window 3", &["the last that kept window 3", ALICE]),
	];
	shell.run_page("docs/runtime-api.md", &runtime_api).await?;
	anyhow::ensure!(shell.cwd().join("alice.png").is_file(), "audit peer --plot wrote no plot");
	let performance = [
		// The figures the page's table states (491 s, 70.4 %, 99.8 %; 1047 s, 53.1 %).
		Expect::shows(
			"simulate --bytes-per-chunk 160",
			&["payload 2.81 GB (160 B per chunk)", "sequential         1047.1", "53.1%", "99.8%"],
		),
		Expect::shows(
			"simulate",
			&[
				"72B parameters, 20 peers, 500/110 Mb/s",
				"sequential          490.9",
				"70.4%",
				"99.8%",
			],
		),
	];
	shell.run_page("docs/PERFORMANCE.md", &performance).await?;
	Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_s_peers_run_as_written() -> anyhow::Result<()> {
	let mut shell = DocShell::start().await?;
	shell.run_page("README.md", &[Expect::shows("start-run", &["run started"])]).await?;
	// The miner and validator it started work: an update committed, updates evaluated.
	let limit = Duration::from_secs(300);
	shell.wait_for_log("offchain-trainer miner", "update committed", limit).await?;
	shell.wait_for_log("offchain-trainer validator", "updates evaluated", limit).await?;
	Ok(())
}
