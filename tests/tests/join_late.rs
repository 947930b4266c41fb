//! Issue 19, end to end on one network that runs past its history: a test preset keeps 6
//! windows on chain and has validators checkpoint θ every 2 windows (2 kept), so that from
//! window 7 on nobody can replay from θ_0. Real node, real S3 server, real miners and a real
//! validator.
//!
//! - (a) a miner with an empty disk joins at window ≥ 7, loads the network's checkpoint,
//!   reaches the chain's θ hash and commits an update the validator finds in sync in its first
//!   window;
//! - (b) a miner whose θ is corrupted in memory and on disk mid-run (`corrupt-theta:5`) notices
//!   before training on it, commits nothing in that window, reloads the network's checkpoint
//!   (its own files no longer verify) and is back, in sync, within two windows;
//! - (d) a miner that trained two windows, deregistered and withdrew (its peer record gone):
//!   its payloads are still fetched and decoded from the location recorded with its
//!   commitments, by the function every replay fetches with (`round::fetch_all`);
//! - (e) the network keeps training past its retention: every honest θ equals the validator's
//!   every window, checkpoints are published, old payloads and checkpoints are deleted;
//! - item 8: the joiner's download and replay time, and the store space a miner and the
//!   validator hold at the end, are printed (recorded in `docs/PERFORMANCE.md`).

use std::{collections::BTreeMap, path::Path, time::Duration};
use tessera_chain::{self as chain, network, training};
use tessera_e2e::{
	Harness, Peer,
	peers::{account_of, log_tail, records, theta_by_window},
	s3,
};
use tessera_peer::report::Record;
use tokio::time::Instant;

const RUN: Duration = Duration::from_secs(540);
const LAST: u64 = 10;
/// The test preset: 6 windows of history, a checkpoint every 2 windows, 2 kept.
const HISTORY: [&str; 6] =
	["--retain-windows", "6", "--checkpoint-interval", "2", "--checkpoints-kept", "2"];
const NAMES: [&str; 6] = ["Dave", "Alice", "Bob", "Charlie", "Ferdie", "Eve"];

fn context(dir: &Path) -> String {
	NAMES
		.iter()
		.map(|n| format!("--- {n} ---\n{}", log_tail(dir, n)))
		.collect::<Vec<_>>()
		.join("\n")
}

async fn newest_block(client: &chain::Client) -> anyhow::Result<u64> {
	Ok(client.at_current_block().await?.block_number())
}

/// Polls `check` every 250 ms until it holds, failing with `what` after `RUN`.
async fn wait_for<F, Fut>(what: &str, mut check: F) -> anyhow::Result<()>
where
	F: FnMut() -> Fut,
	Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
	let deadline = Instant::now() + RUN;
	while !check().await? {
		anyhow::ensure!(Instant::now() < deadline, "timed out waiting for {what}");
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	Ok(())
}

/// Bytes stored under `dir` (files, recursively).
fn bytes_under(dir: &Path) -> u64 {
	let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
	entries
		.filter_map(Result::ok)
		.map(|e| {
			let path = e.path();
			if path.is_dir() { bytes_under(&path) } else { e.metadata().map_or(0, |m| m.len()) }
		})
		.sum()
}

/// The flags a validator gave each (window, peer).
type Flags = BTreeMap<(u64, String), Vec<String>>;

/// The validator's θ hash after each window it scored, and the flags it gave each peer.
fn scored(dave: &[Record]) -> (BTreeMap<u64, String>, Flags) {
	let mut theta = BTreeMap::new();
	let mut flags = BTreeMap::new();
	for r in dave {
		if let Record::Scored { window, theta_hash, peers, .. } = r {
			theta.insert(*window, theta_hash.clone());
			for p in peers {
				flags.insert((*window, p.peer.clone()), p.flags.clone());
			}
		}
	}
	(theta, flags)
}

fn trained_windows(records: &[Record]) -> Vec<u64> {
	records
		.iter()
		.filter_map(|r| match r {
			Record::Trained { window, .. } => Some(*window),
			_ => None,
		})
		.collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_network_past_its_history_admits_joiners_and_heals_corruption() -> anyhow::Result<()> {
	let h = Harness::start_with(1000, &HISTORY).await?;
	let (node, d) = (&h.node, h.dir());
	let url = node.rpc_url();
	let net = h.network(url);
	let client = chain::connect(url).await?;
	let mut peers: Vec<Peer> = vec![
		net.validator("Dave", "//Dave", LAST, &[])?,
		net.miner("Alice", "//Alice", "honest", LAST)?,
		net.miner("Bob", "//Bob", "honest", LAST)?,
		net.miner("Charlie", "//Charlie", "corrupt-theta:5", LAST)?,
	];
	let ferdie = net.miner("Ferdie", "//Ferdie", "honest", 2)?;

	// (d) Ferdie trains two windows, then leaves for good.
	ferdie.finish(RUN).await?;
	let ferdie_key = subxt_signer::sr25519::dev::ferdie();
	let ferdie_account = ferdie_key.public_key().0;
	training::deregister(&client, &ferdie_key).await?;
	let mut committed = Vec::new();
	for w in 1..=2 {
		let n = newest_block(&client).await?;
		committed.extend(
			network::commitments(&client, n, w)
				.await?
				.into_iter()
				.filter(|c| c.account == ferdie_account)
				.map(|c| (w, c)),
		);
	}
	anyhow::ensure!(!committed.is_empty(), "Ferdie committed nothing\n{}", context(d));
	wait_for("Ferdie's withdrawal", || async {
		Ok(training::withdraw_deposit(&client, &ferdie_key).await.is_ok())
	})
	.await?;
	let n = newest_block(&client).await?;
	let gone = network::peer_location(&client, n, &chain::AccountId::from(ferdie_account)).await?;
	assert!(gone.is_none(), "Ferdie is no longer a peer");
	let manifest = chain::run::manifest(&client).await?.expect("the run is on chain");
	let rules = tessera_codec::Rules {
		k: manifest.codec.top_k as usize,
		quantised: manifest.codec.quantised,
		max_value: chain::run::from_e9(manifest.outer.max_update_value_e9),
	};
	let shapes = tessera_model::Llama::shapes(&tessera_model::ModelConfig::load("tiny")?);
	let resolver = tessera_store::Resolver::S3 {
		own: None,
		read: Some(tessera_store::S3Credentials {
			access_key: s3::ACCESS_KEY.into(),
			secret_key: s3::SECRET_KEY.into(),
		}),
		limits: tessera_store::S3Limits::default(),
		allow_private: true,
	};
	let mut replayed = 0;
	for (w, c) in &committed {
		if !network::is_retained(&client, newest_block(&client).await?, *w).await? {
			continue;
		}
		assert!(c.location.is_some(), "window {w}: the commitment keeps Ferdie's location");
		let fetched = tessera_peer::round::fetch_all(
			&resolver,
			*w,
			std::slice::from_ref(c),
			&shapes,
			rules,
			Duration::from_secs(10),
		)
		.await;
		let payload = fetched.get(&ferdie_account).and_then(|f| f.as_ref().ok());
		assert!(
			payload.is_some_and(|p| p.header.miner == ferdie_account),
			"window {w}: Ferdie's payload still replays after it left: {fetched:?}"
		);
		replayed += 1;
	}
	assert!(replayed > 0, "a window of Ferdie's was still on chain after its withdrawal");

	// (b) Charlie's corrupted θ: nothing committed in window 5.
	wait_for("window 6", || async {
		Ok(network::current_window(&client, newest_block(&client).await?).await? >= 6)
	})
	.await?;
	let charlie = account_of("//Charlie")?;
	let n = newest_block(&client).await?;
	let in_5: Vec<String> = network::commitments(&client, n, 5)
		.await?
		.iter()
		.map(|c| tessera_chain::address::ss58(&c.account))
		.collect();
	assert!(!in_5.contains(&charlie), "Charlie committed on its corrupted θ\n{}", context(d));

	// (a) Once window 1 is pruned, Eve joins with an empty disk.
	wait_for("window 1 to be pruned", || async {
		Ok(!network::is_retained(&client, newest_block(&client).await?, 1).await?)
	})
	.await?;
	let n = newest_block(&client).await?;
	let joined_in = network::current_window(&client, n).await?;
	assert!(joined_in >= 7, "Eve joins at window {joined_in}");
	let newest = network::newest_checkpoint(&client, n).await?;
	let started = Instant::now();
	peers.push(net.miner("Eve", "//Eve", "honest", LAST)?);
	let mut loaded_after = None;
	let caught_up_after = loop {
		anyhow::ensure!(started.elapsed() < RUN, "Eve never caught up\n{}", context(d));
		let eve = records(d, "Eve").unwrap_or_default();
		if loaded_after.is_none() && eve.iter().any(|r| matches!(r, Record::Restored { .. })) {
			loaded_after = Some(started.elapsed());
		}
		if theta_by_window(&eve).contains_key(&(joined_in - 1)) {
			break started.elapsed();
		}
		tokio::time::sleep(Duration::from_millis(250)).await;
	};
	for p in peers {
		p.finish(RUN).await?;
	}
	let why = || context(d);

	let dave = records(d, "Dave")?;
	let (validator_theta, flags) = scored(&dave);
	let eve_account = account_of("//Eve")?;

	// (e) Every honest θ is the validator's, every window, past the history's end.
	for name in ["Alice", "Bob"] {
		let theta = theta_by_window(&records(d, name)?);
		for w in 1..=LAST {
			let (Some(ours), Some(v)) = (theta.get(&w), validator_theta.get(&w)) else {
				panic!("window {w}: {name} or Dave has no θ\n{}", why());
			};
			assert_eq!(&ours.0, v, "{name}'s θ after window {w}\n{}", why());
		}
	}
	let published: Vec<u64> = dave
		.iter()
		.filter_map(|r| match r {
			Record::Published { window, recorded: true, .. } => Some(*window),
			_ => None,
		})
		.collect();
	assert!(
		[2, 4, 6, 8].iter().all(|w| published.contains(w)),
		"checkpoints published: {published:?}\n{}",
		why()
	);
	let n = newest_block(&client).await?;
	let kept: Vec<u64> = network::checkpoints(&client, n).await?.iter().map(|c| c.window).collect();
	assert!(kept.len() == 2 && kept[0] >= 8, "the chain keeps the newest two: {kept:?}");

	// (a) Eve loaded the network's checkpoint, replayed to the chain's θ and committed in sync.
	let eve = records(d, "Eve")?;
	let restored = eve.iter().find_map(|r| match r {
		Record::Restored { window, source, cause, .. } => Some((*window, source, cause)),
		_ => None,
	});
	let Some((from, source, cause)) = restored else {
		panic!("Eve never loaded a checkpoint\n{}", why());
	};
	assert_eq!(source, "network", "{}", why());
	assert!(cause.contains("joining"), "{cause}");
	assert!(newest.is_some_and(|c| from >= c), "Eve loaded the newest checkpoint ({from})");
	let eve_theta = theta_by_window(&eve);
	for (w, (hash, _, _)) in &eve_theta {
		assert_eq!(Some(hash), validator_theta.get(w), "Eve's θ after window {w}\n{}", why());
	}
	let Some(first) = trained_windows(&eve).first().copied() else {
		panic!("Eve never committed\n{}", why());
	};
	// The sync verdict: the update was trained from the chain's θ (no `diverged` flag).
	let eve_flags = flags.get(&(first, eve_account.clone()));
	assert!(
		eve_flags.is_some_and(|f| !f.iter().any(|f| f == "diverged")),
		"Eve's first update (window {first}) is in sync: {eve_flags:?}\n{}",
		why()
	);

	// (b) Charlie noticed, sat out, reloaded the network's checkpoint, and is back in sync.
	let charlie_records = records(d, "Charlie")?;
	assert!(
		charlie_records.iter().any(
			|r| matches!(r, Record::SatOut { window: 5, reason } if reason.contains("hashes"))
		),
		"Charlie sat window 5 out for its corrupted θ\n{}",
		why()
	);
	assert!(
		charlie_records.iter().any(|r| matches!(
			r,
			Record::Restored { source, cause, .. } if source == "network" && cause.contains("hashes")
		)),
		"Charlie reloaded the network's checkpoint (its own files no longer verify)\n{}",
		why()
	);
	assert!(!trained_windows(&charlie_records).contains(&5), "Charlie trained on corrupted θ");
	let charlie_theta = theta_by_window(&charlie_records);
	for w in 5..=LAST {
		let ours = charlie_theta.get(&w).map(|t| &t.0);
		assert_eq!(ours, validator_theta.get(&w), "Charlie's θ after window {w}\n{}", why());
	}
	// Back in sync from window 5 (above); training again once a window leaves it the time (on
	// a loaded machine the first may not), on the network's θ.
	let back = trained_windows(&charlie_records).into_iter().find(|w| *w > 5);
	let Some(back) = back else { panic!("Charlie never trained again\n{}", why()) };
	let back_flags = flags.get(&(back, charlie.clone()));
	assert!(
		back_flags.is_some_and(|f| !f.iter().any(|f| f == "diverged" || f == "invalid")),
		"Charlie's update of window {back} is in sync and valid: {back_flags:?}\n{}",
		why()
	);

	// Item 3: payloads older than the run keeps are gone; checkpoints the run dropped too.
	let store = |prefix: &str| {
		tessera_store::S3Store::new(
			h.s3.endpoint(),
			"tessera",
			prefix,
			Some(tessera_store::S3Credentials {
				access_key: s3::ACCESS_KEY.into(),
				secret_key: s3::SECRET_KEY.into(),
			}),
			tessera_store::S3Limits::default(),
		)
	};
	use tessera_store::ObjectStore;
	let alice = store("Alice")?;
	let alice_account: [u8; 32] = tessera_chain::address::parse(&account_of("//Alice")?)?;
	// Under load a miner may sit a window out: count from the last payload it uploaded.
	let last_upload = records(d, "Alice")?
		.iter()
		.filter_map(|r| match r {
			Record::Uploaded { window } => Some(*window),
			_ => None,
		})
		.max()
		.unwrap_or_default();
	assert!(last_upload >= LAST - 2, "Alice uploaded until window {last_upload}\n{}", why());
	for w in 1..=last_upload - 6 {
		let key = tessera_store::gradient_key(w, &alice_account);
		assert!(!alice.exists(&key).await?, "Alice still holds window {w}'s payload");
	}
	let key = tessera_store::gradient_key(last_upload, &alice_account);
	assert!(alice.exists(&key).await?, "Alice's newest payload is kept");
	let dave_store = store("Dave")?;
	for w in &kept {
		let key = tessera_store::checkpoint_key(*w);
		assert!(
			dave_store.exists(&key).await?,
			"Dave deleted checkpoint {w}, which the chain keeps"
		);
	}
	// Each publication deletes what falls out; the last one may have been cut short by the
	// validator's exit, so only what an earlier publication deleted is checked.
	let oldest = kept.iter().copied().min().unwrap_or_default();
	for w in (2..oldest.saturating_sub(2)).step_by(2) {
		let key = tessera_store::checkpoint_key(w);
		assert!(!dave_store.exists(&key).await?, "Dave still holds checkpoint {w}");
	}

	// Item 8: what joining took, and what the stores hold.
	let s3_root = d.join("s3").join("tessera");
	println!(
		"join: Eve started in window {joined_in}, loaded checkpoint {from} after {:.1} s, \
		 held θ after window {} after {:.1} s ({} windows replayed or stepped); store: a miner \
		 (Alice) {} bytes, the validator (Dave) {} bytes",
		loaded_after.unwrap_or_default().as_secs_f64(),
		joined_in - 1,
		caught_up_after.as_secs_f64(),
		joined_in - 1 - from,
		bytes_under(&s3_root.join("Alice")),
		bytes_under(&s3_root.join("Dave")),
	);

	// Issue 24 item 7: the audit answers for window 1, pruned long ago, from the archive node's
	// state at the last block that kept it; and reads any block with --at-window.
	let audit = |args: &[&str]| -> anyhow::Result<serde_json::Value> {
		let out = std::process::Command::new(tessera_e2e::binary("offchain-trainer")?)
			.args(["audit", "--url", url, "--json"])
			.args(args)
			.output()?;
		anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
		Ok(serde_json::from_slice(&out.stdout)?)
	};
	let head = newest_block(&client).await?;
	assert!(!network::is_retained(&client, head, 1).await?, "window 1 is still kept");
	let w1 = audit(&["window", "1"])?;
	let read_at = w1["block"].as_u64().unwrap_or(u64::MAX);
	assert!(read_at < head, "window 1 read at block {read_at}, the head is {head}");
	assert!(network::is_retained(&client, read_at, 1).await?, "not kept at {read_at}");
	assert!(!network::is_retained(&client, read_at + 1, 1).await?, "kept after {read_at}");
	assert!(w1["validators"].as_u64().is_some_and(|v| v >= 1), "no verdict: {w1}");
	let alice_ss58 = account_of("//Alice")?;
	let alice_in_1 = w1["peers"]
		.as_array()
		.and_then(|peers| peers.iter().find(|p| p["account"] == alice_ss58.as_str()).cloned());
	assert!(
		alice_in_1.as_ref().is_some_and(|p| p["score"].is_number() && p["included"] == true),
		"Alice in window 1: {w1}"
	);
	let history = audit(&["--at-window", "1", "peer", "//Alice", "--from", "1", "--to", "1"])?;
	assert_eq!(history[0]["windows"][0]["window"], 1, "{history}");
	assert_eq!(history[0]["windows"][0]["score"], alice_in_1.unwrap_or_default()["score"]);
	Ok(())
}
