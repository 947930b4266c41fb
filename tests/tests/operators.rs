//! End to end, what an operator touches: a miner configured by a TOML file (with a flag that
//! overrides it), writing JSON logs and serving Prometheus metrics, against a real node; and a
//! bad configuration refused up front with the key named.

use std::{process::Stdio, time::Duration};
use tessera_e2e::{NodeOptions, TestDir, TestNode, binary, corpus, harness::start_run};
use tokio::{
	io::{AsyncReadExt, AsyncWriteExt},
	process::Command,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_config_is_refused_up_front_with_the_key_named() -> anyhow::Result<()> {
	let dir = TestDir::new()?;
	let file = dir.path().join("miner.toml");
	std::fs::write(&file, "suri = \"//Alice\"\nfetch_timeout = 30\n")?;
	let out = Command::new(binary("offchain-trainer")?)
		.args(["miner", "--config"])
		.arg(&file)
		.output()
		.await?;
	assert!(!out.status.success());
	let err = String::from_utf8_lossy(&out.stderr);
	assert!(err.contains("unknown key `fetch_timeout`") && err.contains("fetch-timeout"), "{err}");
	Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_miner_logs_json_and_serves_metrics() -> anyhow::Result<()> {
	let corpus = corpus()?;
	let node = TestNode::start(NodeOptions { block_time_ms: 500, ..Default::default() })?;
	start_run(node.rpc_url(), &corpus, &["--inner-steps", "4", "--batch-size", "2"]).await?;
	let dir = TestDir::new()?;
	let file = dir.path().join("miner.toml");
	std::fs::write(
		&file,
		format!(
			"url = \"{}\"\nsuri = \"//Alice\"\ncorpus = \"{}\"\nstore-dir = \"{}\"\n\
			 checkpoint-dir = \"{}\"\nthreads = 1\nuntil-window = 100\n",
			node.rpc_url(),
			corpus.display(),
			dir.path().join("store").display(),
			dir.path().join("ck").display(),
		),
	)?;
	let log = dir.path().join("miner.log");
	let mut child = Command::new(binary("offchain-trainer")?)
		.args(["--log-format", "json", "miner", "--config"])
		.arg(&file)
		.args(["--metrics-addr", "127.0.0.1:0", "--until-window", "2"])
		.stdin(Stdio::null())
		.stdout(Stdio::null())
		.stderr(std::fs::File::create(&log)?)
		.kill_on_drop(true)
		.spawn()?;
	// Wait for the first outer step in the JSON log; find the metrics address there too.
	let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
	let (addr, summary) = loop {
		anyhow::ensure!(tokio::time::Instant::now() < deadline, "no outer step logged");
		anyhow::ensure!(child.try_wait()?.is_none(), "the miner exited early");
		let text = std::fs::read_to_string(&log).unwrap_or_default();
		let events: Vec<serde_json::Value> =
			text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
		let addr = events.iter().find_map(|e| e["fields"]["addr"].as_str().map(String::from));
		let applied =
			events.iter().any(|e| e["fields"]["message"].as_str() == Some("outer step applied"));
		if let (Some(addr), true) = (addr, applied) {
			break (addr, text);
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	};
	assert!(summary.contains("tessera miner") && summary.contains(file.to_str().unwrap_or("")));
	let mut stream = tokio::net::TcpStream::connect(&addr).await?;
	stream
		.write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
		.await?;
	let mut body = String::new();
	stream.read_to_string(&mut body).await?;
	assert!(body.contains("tessera_window "), "{body}");
	assert!(body.contains("tessera_held_out_loss "), "{body}");
	assert!(body.contains("# TYPE tessera_training_seconds_total counter"), "{body}");
	// The flag (`--until-window 2`) won over the file (100): the miner finishes.
	let status = tokio::time::timeout(Duration::from_secs(120), child.wait()).await??;
	let text = std::fs::read_to_string(&log).unwrap_or_default();
	assert!(status.success(), "{text}");
	every_window_line_names_the_window_peer_and_phase(&text)?;
	Ok(())
}

/// Issue 24 item 5: every JSON log line about a window carries the window, the peer (Alice's
/// SS58 address) and the phase, in its fields or its spans; and the lines are whole JSON.
fn every_window_line_names_the_window_peer_and_phase(text: &str) -> anyhow::Result<()> {
	let alice = tessera_chain::address::ss58(&tessera_chain::address::parse("//Alice")?);
	let (mut about_windows, mut wrong) = (0, Vec::new());
	for line in text.lines().filter(|l| l.starts_with('{')) {
		let e: serde_json::Value = serde_json::from_str(line)
			.map_err(|err| anyhow::anyhow!("a broken log line ({err}): {line}"))?;
		let spans = e["spans"].as_array().cloned().unwrap_or_default();
		// The innermost span that has the key: a follow-up's phase is nested in its cause's.
		let in_spans = |key: &str| spans.iter().rev().find_map(|s| s.get(key).cloned());
		let window = e["fields"].get("window").cloned().or_else(|| in_spans("window"));
		if window.is_none() {
			continue;
		}
		about_windows += 1;
		let peer = in_spans("peer").and_then(|p| p.as_str().map(String::from));
		if peer.as_deref() != Some(alice.as_str()) {
			wrong.push(format!("without the peer: {line}"));
		}
		if !e["fields"].get("phase").or(in_spans("phase").as_ref()).is_some_and(|p| p.is_string()) {
			wrong.push(format!("without its phase: {line}"));
		}
		if let (Some(field), Some(span)) = (e["fields"].get("window"), in_spans("window"))
			&& *field != span
		{
			wrong.push(format!("two windows in one line: {line}"));
		}
	}
	anyhow::ensure!(wrong.is_empty(), "lines about a window:\n{}", wrong.join("\n"));
	anyhow::ensure!(about_windows >= 5, "only {about_windows} lines about a window:\n{text}");
	Ok(())
}

async fn trainer(args: &[&str], more: &[&std::path::Path]) -> anyhow::Result<(bool, String)> {
	let out = Command::new(binary("offchain-trainer")?).args(args).args(more).output().await?;
	let text =
		String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
	Ok((out.status.success(), text))
}

/// Issue 19 item 1 / issue 17 item 4: the run's identity is on chain; a peer without a run, or
/// with another model, is refused at start with the field and both values named; the run
/// cannot be changed once started; `audit run` prints it.
#[tokio::test(flavor = "multi_thread")]
async fn peers_are_refused_unless_they_match_the_run_on_chain() -> anyhow::Result<()> {
	let corpus = corpus()?;
	let node = TestNode::start(NodeOptions { block_time_ms: 500, ..Default::default() })?;
	let dir = TestDir::new()?;
	let url = node.rpc_url();
	let miner = |model: String| {
		let dir = dir.path().to_path_buf();
		let corpus = corpus.clone();
		async move {
			let model_args = ["miner", "--url", url, "--suri", "//Bob", "--model", model.as_str()];
			let store = dir.join("store");
			let ck = dir.join("ck");
			trainer(
				&model_args,
				&[
					std::path::Path::new("--corpus"),
					&corpus,
					std::path::Path::new("--store-dir"),
					&store,
					std::path::Path::new("--checkpoint-dir"),
					&ck,
				],
			)
			.await
		}
	};
	let (ok, text) = miner("tiny".into()).await?;
	assert!(!ok && text.contains("no run has been started"), "{text}");

	start_run(url, &corpus, &[]).await?;
	// Starting the same run again changes nothing; another one is refused.
	start_run(url, &corpus, &[]).await?;
	let other_lr = start_run(url, &corpus, &["--outer-lr", "0.5"]).await;
	let err = other_lr.err().map(|e| e.to_string()).unwrap_or_default();
	assert!(err.contains("a run with other choices is already started"), "{err}");
	assert!(err.contains("outer lr is 0.7 on chain, 0.5 here"), "names the difference: {err}");
	// The chain itself refuses a second run, and the error comes back named through sudo.
	let client = tessera_chain::connect(url).await?;
	let mut other = tessera_chain::run::manifest(&client).await?.expect("the run is on chain");
	other.outer.lr_e9 = 500_000_000;
	let alice = subxt_signer::sr25519::dev::alice();
	match tessera_chain::run::start(&client, &alice, other).await {
		Err(tessera_chain::tx::TxError::Rejected { pallet, error }) => {
			assert_eq!((pallet.as_str(), error.as_str()), ("Training", "RunAlreadyStarted"));
		},
		other => panic!("a second run was not refused by the pallet: {other:?}"),
	}

	let other = dir.path().join("other.toml");
	std::fs::write(
		&other,
		"name = \"tiny\"\nvocab_size = 4096\nd_model = 128\nn_layers = 2\nn_heads = 4\n\
		 d_ff = 352\nseq_len = 64\ninit_seed = 1\nrope_theta = 500000.0\n",
	)?;
	let (ok, text) = miner(other.display().to_string()).await?;
	assert!(!ok, "{text}");
	assert!(
		text.contains("model rope_theta is 500000, the run's on chain is 10000"),
		"the field and both values are named: {text}"
	);

	// Another tokenizer (here: the same one with a byte more) is another run.
	let other_corpus = dir.path().join("other-corpus");
	std::fs::create_dir_all(&other_corpus)?;
	for file in ["corpus.json", "tokens.bin", "tokenizer.json"] {
		std::fs::copy(corpus.join(file), other_corpus.join(file))?;
	}
	let mut tokenizer = std::fs::read(other_corpus.join("tokenizer.json"))?;
	tokenizer.push(b'\n');
	std::fs::write(other_corpus.join("tokenizer.json"), tokenizer)?;
	let store = dir.path().join("store");
	let ck = dir.path().join("ck");
	let (ok, text) = trainer(
		&["miner", "--url", url, "--suri", "//Bob", "--model", "tiny"],
		&[
			std::path::Path::new("--corpus"),
			&other_corpus,
			std::path::Path::new("--store-dir"),
			&store,
			std::path::Path::new("--checkpoint-dir"),
			&ck,
		],
	)
	.await?;
	assert!(!ok, "{text}");
	assert!(text.contains("tokenizer digest is"), "the field is named: {text}");

	let (ok, text) = trainer(&["audit", "--url", url, "run"], &[]).await?;
	assert!(ok, "{text}");
	for (field, value) in [
		("outer lr", "0.7"),
		("top k", "256"),
		("values", "2-bit quantised"),
		("checkpoint interval", "10"),
		("checkpoints kept", "2"),
	] {
		assert!(
			text.lines().any(|l| l.contains(field) && l.trim_end().ends_with(value)),
			"{field} {value}: {text}"
		);
	}
	Ok(())
}

/// Issue 24 item 6: SIGTERM stops a miner cleanly. Sent just after the miner committed an
/// update and before that update's reveal period: the miner still uploads the payload it
/// committed (nothing committed half), commits nothing more, leaves no partial file, and exits
/// with success.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_a_miner_with_nothing_committed_half() -> anyhow::Result<()> {
	use tessera_peer::report::{Record, Report};
	let corpus = corpus()?;
	let node = TestNode::start(NodeOptions { block_time_ms: 500, ..Default::default() })?;
	start_run(node.rpc_url(), &corpus, &["--inner-steps", "4", "--batch-size", "2"]).await?;
	let dir = TestDir::new()?;
	let (report, log, ck) =
		(dir.path().join("alice.jsonl"), dir.path().join("miner.log"), dir.path().join("ck"));
	let mut child = Command::new(binary("offchain-trainer")?)
		.args(["--log-format", "json", "miner", "--url", node.rpc_url(), "--suri", "//Alice"])
		.arg("--corpus")
		.arg(&corpus)
		.arg("--store-dir")
		.arg(dir.path().join("store"))
		.arg("--checkpoint-dir")
		.arg(&ck)
		.arg("--report")
		.arg(&report)
		.args(["--threads", "1"])
		.stdin(Stdio::null())
		.stdout(Stdio::null())
		.stderr(std::fs::File::create(&log)?)
		.kill_on_drop(true)
		.spawn()?;
	let records = || Report::read(&report).unwrap_or_default();
	let uploaded = |records: &[Record], w: u64| {
		records.iter().any(|r| matches!(r, Record::Uploaded { window } if *window == w))
	};
	// A window committed (its Trained record is written once the commitment is in) and not
	// yet uploaded: the reveal period has not begun.
	let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
	let committed = loop {
		anyhow::ensure!(tokio::time::Instant::now() < deadline, "no commitment seen in time");
		anyhow::ensure!(child.try_wait()?.is_none(), "the miner exited early");
		let now = records();
		let pending = now.iter().find_map(|r| match r {
			Record::Trained { window, .. } if !uploaded(&now, *window) => Some(*window),
			_ => None,
		});
		if let Some(w) = pending {
			break w;
		}
		tokio::time::sleep(Duration::from_millis(20)).await;
	};
	let pid = child.id().ok_or_else(|| anyhow::anyhow!("the miner has no pid"))?;
	let sent = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await?;
	anyhow::ensure!(sent.success(), "kill -TERM {pid}");
	let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await??;
	let text = std::fs::read_to_string(&log).unwrap_or_default();
	assert!(status.success(), "exit {status}\n{text}");
	assert!(text.contains("stop asked for") && text.contains("stopped cleanly"), "{text}");
	let after = records();
	assert!(
		uploaded(&after, committed),
		"window {committed} was committed before the stop but never uploaded\n{text}"
	);
	// The stop came before that upload: the miner waited for the reveal period to upload it.
	let lines: Vec<serde_json::Value> =
		text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
	let message = |e: &serde_json::Value| e["fields"]["message"].as_str().unwrap_or("").to_string();
	let stop_at = lines.iter().position(|e| message(e).starts_with("stop asked for"));
	let upload_at = lines.iter().position(|e| {
		let window = e["spans"]
			.as_array()
			.and_then(|s| s.iter().rev().find_map(|s| s.get("window").cloned()));
		message(e) == "payload uploaded" && window == Some(serde_json::json!(committed))
	});
	assert!(
		matches!((stop_at, upload_at), (Some(s), Some(u)) if s < u),
		"the stop ({stop_at:?}) came before window {committed}'s upload ({upload_at:?})\n{text}"
	);
	// Every window the chain holds a commitment of Alice's for has its payload uploaded, and
	// nothing was committed after the stop.
	let client = tessera_chain::connect(node.rpc_url()).await?;
	let n = client.at_current_block().await?.block_number();
	let alice = tessera_chain::address::parse("//Alice")?;
	for w in 1..=committed + 3 {
		let commitments = tessera_chain::network::commitments(&client, n, w).await?;
		let has = commitments.iter().any(|c| c.account == alice);
		if has {
			assert!(uploaded(&after, w), "window {w} committed, not uploaded\n{text}");
		}
		assert!(!(has && w > committed), "window {w} committed after the stop\n{text}");
	}
	// No half-written file anywhere the miner writes.
	for entry in walk(dir.path())? {
		let name = entry.to_string_lossy().to_string();
		// A `.partial` file, or safetensors' temporary `.tmp…` one of a write cut short.
		let file = entry.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
		assert!(
			!name.contains("partial") && !name.ends_with(".tmp") && !file.starts_with(".tmp"),
			"left behind: {name}"
		);
	}
	Ok(())
}

/// Every file below `root`.
fn walk(root: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
	let mut out = Vec::new();
	let mut dirs = vec![root.to_path_buf()];
	while let Some(d) = dirs.pop() {
		for entry in std::fs::read_dir(&d)? {
			let path = entry?.path();
			if path.is_dir() { dirs.push(path) } else { out.push(path) }
		}
	}
	Ok(out)
}

/// Issue 24 item 7: an audit of a block whose state the node has discarded says the node is not
/// an archive node (and what to do), rather than a bare RPC error; a block not yet finalized is
/// refused as such.
#[tokio::test(flavor = "multi_thread")]
async fn an_audit_of_a_discarded_block_says_the_node_is_not_an_archive_node() -> anyhow::Result<()>
{
	let node = TestNode::start(NodeOptions {
		block_time_ms: 100,
		state_pruning: Some("4".into()),
		..Default::default()
	})?;
	// No client of this test follows the chain: a follower pins the blocks it was told of, and
	// the node keeps a pinned block's state.
	let audit = |args: &[&str]| -> anyhow::Result<(bool, String)> {
		let out = std::process::Command::new(binary("offchain-trainer")?)
			.args(["audit", "--url", node.rpc_url()])
			.args(args)
			.output()?;
		Ok((out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned()))
	};
	// The node discards old state as blocks are finalized, in its own time: ask until it has.
	let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
	let err = loop {
		anyhow::ensure!(tokio::time::Instant::now() < deadline, "block 2's state is never gone");
		let (success, err) = audit(&["--at", "2", "top"])?;
		// (Block 2 may not be finalized yet at the first try.)
		if !success && !err.contains("not finalized yet") {
			break err;
		}
		tokio::time::sleep(Duration::from_millis(250)).await;
	};
	assert!(
		err.contains("not an archive node") && err.contains("--state-pruning archive"),
		"{err}"
	);
	let (success, err) = audit(&["--at", "100000000", "top"])?;
	assert!(!success && err.contains("not finalized yet"), "{err}");
	// (Reading a block whose state is kept: join_late's audit of a pruned window.)
	Ok(())
}

/// Issue 24 item 6: SIGTERM stops a validator cleanly. Sent when it has evaluated a window's
/// updates and not yet submitted its results (the submission waits for the scoring period),
/// while the network goes on: it submits that window's results before it stops, exits with
/// success and says so; every window it reported submitted has its submission on chain and
/// every submission of its on chain is in its report (nothing submitted half, no record lost);
/// and nothing half-written is left in its checkpoint directory.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_a_validator_with_nothing_submitted_half() -> anyhow::Result<()> {
	use tessera_peer::report::{Record, Report};
	let h = tessera_e2e::Harness::start(1000).await?;
	let network = h.network(h.node.rpc_url());
	let _alice = network.miner("alice", "//Alice", "honest", 100)?;
	let dave = network.validator("dave", "//Dave", 100, &[])?;
	let report = h.dir().join("dave.jsonl");
	let dave_log = h.dir().join("dave.log");
	let scored = |records: &[Record]| -> Vec<(u64, bool)> {
		records
			.iter()
			.filter_map(|r| match r {
				Record::Scored { window, submitted, .. } => Some((*window, *submitted)),
				_ => None,
			})
			.collect()
	};
	// The windows whose updates Dave has evaluated (`updates evaluated window=W …`; the text
	// format may colour field names).
	let evaluated = |log: &str| -> Vec<u64> {
		tessera_e2e::peers::strip_ansi(log)
			.lines()
			.filter_map(|l| l.split_once("updates evaluated").map(|(_, rest)| rest))
			.filter_map(|rest| {
				rest.split_whitespace()
					.find_map(|f| f.strip_prefix("window="))
					.and_then(|w| w.parse().ok())
			})
			.collect()
	};
	let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
	let pending = loop {
		anyhow::ensure!(
			tokio::time::Instant::now() < deadline,
			"Dave evaluated no window in time:\n{}",
			dave.tail()
		);
		let done = scored(&Report::read(&report).unwrap_or_default());
		let text = std::fs::read_to_string(&dave_log).unwrap_or_default();
		if let Some(w) = evaluated(&text).into_iter().find(|w| !done.iter().any(|(d, _)| d == w)) {
			break w;
		}
		tokio::time::sleep(Duration::from_millis(20)).await;
	};
	let log = dave.terminate(Duration::from_secs(90)).await?;
	assert!(log.contains("stop asked for") && log.contains("stopped cleanly"), "{log}");
	let reported = scored(&Report::read(&report)?);
	assert!(
		reported.contains(&(pending, true)),
		"window {pending} was evaluated before the stop and not submitted: {reported:?}\n{log}"
	);
	let client = tessera_chain::connect(h.node.rpc_url()).await?;
	let n = client.at_current_block().await?.block_number();
	let dave_account = tessera_chain::address::parse("//Dave")?;
	let last = reported.iter().map(|(w, _)| *w).max().unwrap_or(0);
	for w in 1..=last + 2 {
		let on_chain = tessera_chain::network::submissions(&client, n, w)
			.await?
			.iter()
			.any(|s| s.validator == dave_account);
		let in_report = reported.contains(&(w, true));
		// A submission reported refused (a dropped connection, a time-out) may still be in the
		// node's pool: the chain may include it after the validator stopped.
		if reported.contains(&(w, false)) {
			continue;
		}
		assert_eq!(
			on_chain, in_report,
			"window {w}: on chain {on_chain}, reported {in_report}\n{log}"
		);
	}
	// The Gauntlet's state is saved there at each submission.
	let checkpoints = h.dir().join("dave-checkpoints");
	anyhow::ensure!(checkpoints.is_dir(), "{} was never written", checkpoints.display());
	for entry in walk(&checkpoints)? {
		let name = entry.to_string_lossy().to_string();
		// A `.partial` file, or safetensors' temporary `.tmp…` one of a write cut short.
		let file = entry.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
		assert!(
			!name.contains("partial") && !name.ends_with(".tmp") && !file.starts_with(".tmp"),
			"left behind: {name}"
		);
	}
	Ok(())
}
