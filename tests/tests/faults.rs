//! Faults of DESIGN.md §9 with real processes: the node restarting in the middle of a window,
//! and every peer's RPC connection dropping and then hanging (through proxies that cut
//! connections, then go silent), with peers that list several endpoints. Miners and
//! the validator reconnect, nobody crashes, and afterwards every peer's θ again equals the
//! verdict's.

use std::time::Duration;
use tessera_chain::{self as chain, network};
use tessera_e2e::{
	Harness, Peer, Proxy, TestNode,
	peers::{log_tail, records, strip_ansi, theta_by_window},
};

const RUN: Duration = Duration::from_secs(420);
const LAST: u64 = 6;
const NAMES: [&str; 3] = ["Dave", "Alice", "Bob"];

/// Waits until `name`'s report shows window `w` applied.
async fn until_applied(dir: &std::path::Path, name: &str, w: u64) -> anyhow::Result<()> {
	let deadline = tokio::time::Instant::now() + RUN;
	while !theta_by_window(&records(dir, name).unwrap_or_default()).contains_key(&w) {
		anyhow::ensure!(tokio::time::Instant::now() < deadline, "{name} never applied {w}");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	Ok(())
}

/// Every peer's θ equals the verdict's for every window from `from` on.
async fn in_sync_from(node: &TestNode, dir: &std::path::Path, from: u64) -> anyhow::Result<()> {
	let client = chain::connect(node.rpc_url()).await?;
	let at = client.at_current_block().await?.block_number();
	let why = || NAMES.map(|n| format!("--- {n} ---\n{}", log_tail(dir, n))).join("\n");
	for w in from..=LAST {
		let v = network::verdict(&client, at, w)
			.await?
			.ok_or_else(|| anyhow::anyhow!("no verdict for {w}"))?;
		anyhow::ensure!(v.is_binding(), "window {w} was not scored\n{}", why());
		for name in NAMES {
			let theta = theta_by_window(&records(dir, name)?);
			let (hash, _, _) = theta
				.get(&w)
				.ok_or_else(|| anyhow::anyhow!("{name} never applied {w}\n{}", why()))?;
			anyhow::ensure!(*hash == hex::encode(v.theta_hash), "{name}'s θ after {w}\n{}", why());
		}
	}
	Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn node_restart_mid_window_is_survived_by_every_peer() -> anyhow::Result<()> {
	let mut h = Harness::start(1000).await?;
	let url = h.node.rpc_url().to_string();
	let peers = start_peers(&h, &url)?;
	let d = h.dir().to_path_buf();
	until_applied(&d, "Alice", 2).await?;
	// Mid-window 3: the node goes down and comes back on the same database and port.
	tokio::task::block_in_place(|| h.node.restart())?;
	for p in peers {
		p.finish(RUN).await?;
	}
	let reconnected = NAMES
		.iter()
		.filter(|n| {
			std::fs::read_to_string(d.join(format!("{n}.log")))
				.is_ok_and(|l| l.contains("reconnecting"))
		})
		.count();
	assert_eq!(reconnected, NAMES.len(), "every peer reconnected");
	in_sync_from(&h.node, &d, 5).await
}

/// The validator and two miners, reaching the node at `url`.
fn start_peers(h: &Harness, url: &str) -> anyhow::Result<Vec<Peer>> {
	let net = h.network(url);
	Ok(vec![
		net.validator("Dave", "//Dave", LAST, &[])?,
		net.miner("Alice", "//Alice", "honest", LAST)?,
		net.miner("Bob", "//Bob", "honest", LAST)?,
	])
}

/// Issue 18 item 5: every peer lists three endpoints: one where nothing listens, then two
/// proxies in front of the node. Each starts on the first that answers (the first proxy); when
/// that proxy cuts every connection, each moves on to the second; when the second goes silent
/// (connections open, nothing forwarded: a hung node), each leaves it after `--stall-after`
/// without a finalized block and, passing the dead endpoint, comes back to the first proxy.
/// Nobody exits or crashes, both miners' updates are aggregated again by the last window, and
/// every peer's θ again equals the verdict's.
#[tokio::test(flavor = "multi_thread")]
async fn dropped_and_silent_nodes_are_left_for_the_next_endpoint() -> anyhow::Result<()> {
	let h = Harness::start(1000).await?;
	let target = h.node.rpc_url().trim_start_matches("ws://").to_string();
	let (first, second) = (Proxy::start(target.clone()).await?, Proxy::start(target).await?);
	let dead = {
		let unused = std::net::TcpListener::bind("127.0.0.1:0")?;
		format!("ws://{}", unused.local_addr()?)
	};
	let urls = format!("{dead},{},{}", first.ws_url(), second.ws_url());
	let net = h.network(&urls);
	let stall = ["--stall-after", "5"];
	let peers = vec![
		net.validator("Dave", "//Dave", LAST, &stall)?,
		net.miner_with("Alice", "//Alice", "honest", LAST, &stall)?,
		net.miner_with("Bob", "//Bob", "honest", LAST, &stall)?,
	];
	let d = h.dir();
	until_applied(d, "Alice", 2).await?;
	let cut = first.drop_connections();
	assert!(cut >= NAMES.len(), "every peer was connected through the first proxy: {cut}");
	until_applied(d, "Alice", 3).await?;
	second.silence();
	for p in peers {
		p.finish(RUN).await?;
	}
	for n in NAMES {
		let log = strip_ansi(&std::fs::read_to_string(d.join(format!("{n}.log")))?);
		let moved = |from: &str, to: &str| {
			log.lines().any(|l| {
				l.contains("reconnecting")
					&& l.contains(&format!("from={from}"))
					&& l.contains(&format!("to={to}"))
			})
		};
		assert!(moved(&first.ws_url(), &second.ws_url()), "{n} left the cut proxy\n{log}");
		assert!(
			moved(&second.ws_url(), &dead)
				// The block stream's stall, or the connection cut for silence (whose error
				// may reach the session through a query that reports it in its own words).
				&& (log.contains("was silent for 5s")
					|| log.contains("the node said nothing; cutting the connection")),
			"{n} left the silent proxy\n{log}"
		);
		assert!(moved(&dead, &first.ws_url()), "{n} came back to the first proxy\n{log}");
	}
	// Both miners commit again after their moves: the last window aggregates both updates.
	let last = theta_by_window(&records(d, "Dave")?);
	let included = last.get(&LAST).map(|(_, included, _)| included.len());
	assert_eq!(included, Some(2), "window {LAST}'s aggregate\n{}", log_tail(d, "Alice"));
	in_sync_from(&h.node, d, 5).await
}
