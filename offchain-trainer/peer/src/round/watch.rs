//! The watcher: a task of its own that follows finalized blocks and observes the committers'
//! stores at the moments the protocol cares about, so that what a peer concludes about timing
//! never depends on how busy it is (training or evaluating can hold a peer's main loop for
//! several blocks; the watcher keeps running beside it):
//!
//! - **early**: while window w runs, each block, which of w's committed payloads are already
//!   readable;
//! - **revealed**: during w's reveal period, the committed payloads not yet fetched are fetched
//!   and checked against their commitments; one not there yet is asked for again every
//!   quarter second until the period's end (a payload uploaded in the last reveal block, after
//!   that block's look, was readable in time);
//! - **late**: after the reveal period, until the scoring deadline, which committed payloads
//!   that were not revealed in time have appeared since.
//!
//! Every look at one committer's store runs as a task of its own, with its own deadline, and at
//! most one per committer and kind at a time: a store that answers slowly or not at all delays
//! only its own payload, never the watcher's next block or anyone else's payload.
//!
//! An observation only counts when the chain's newest block, read after it, was still inside the
//! period in question: a watcher that lags proves nothing by a late look. A window's reveal
//! observation is *complete* once its last reveal block was watched in time; only then may a
//! payload missing from it be called missing. It is *all read* — and complete — as soon as every
//! watched payload (at least one) was read, or found unusable, in time: nothing can be missing
//! then, and the follower steps before the period ends. Otherwise the follower fetches directly.

use super::{Committed, fetch};
use bytes::Bytes;
use std::{
	collections::{BTreeMap, BTreeSet},
	sync::{Arc, Mutex},
	time::Duration,
};
use tessera_chain::{self as chain, ChainError, Client, network::Timing};
use tessera_store::Resolver;

/// What was read of a payload during the reveal period: its bytes (hash checked), or why
/// what was there cannot be used (wrong hash, too large).
#[derive(Clone, Debug)]
pub enum Revealed {
	/// The committed bytes.
	Bytes(Bytes),
	/// Something other than the committed payload.
	Unusable(String),
}

/// What the watcher saw.
#[derive(Debug, Default)]
struct Observations {
	early: BTreeMap<u64, BTreeSet<[u8; 32]>>,
	revealed: BTreeMap<u64, BTreeMap<[u8; 32], Revealed>>,
	complete: BTreeSet<u64>,
	/// Windows whose every watched payload was read (or found unusable) in time.
	all_read: BTreeSet<u64>,
	/// The committers whose payloads each window's reveal period watches (once known).
	reveal_watched: BTreeMap<u64, BTreeSet<[u8; 32]>>,
	late: BTreeMap<u64, BTreeSet<[u8; 32]>>,
	/// Looks running now: one per window, committer and kind.
	in_flight: BTreeSet<(u64, [u8; 32], Look)>,
	/// Reveal looks whose fetch has ended and that are checking whether it ended in time, to
	/// record it: the only ones a follower waits for.
	settling: BTreeSet<(u64, [u8; 32])>,
}

/// What a look at a committer's store is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Look {
	/// Readable while the window runs?
	Early,
	/// Fetch it during the reveal period.
	Reveal,
	/// Appeared after the reveal period?
	Late,
}

/// A handle on the watcher's observations (cheap to clone), and the signal that a window's
/// payloads were all read.
#[derive(Clone, Debug, Default)]
pub struct Watch(Arc<Mutex<Observations>>, Arc<tokio::sync::Notify>);

impl Watch {
	fn with<R>(&self, f: impl FnOnce(&mut Observations) -> R) -> R {
		// A poisoned lock only means a panic elsewhere mid-update; the sets stay usable.
		let mut guard = match self.0.lock() {
			Ok(g) => g,
			Err(poisoned) => poisoned.into_inner(),
		};
		f(&mut guard)
	}

	/// The committers of `window` whose payload was readable before the window closed.
	pub fn early(&self, window: u64) -> BTreeSet<[u8; 32]> {
		self.with(|o| o.early.get(&window).cloned().unwrap_or_default())
	}

	/// Whether every watched payload of `window` (at least one) was read — or found unusable —
	/// in its reveal period: its step cannot change any more, and need not wait for the period's
	/// end. A period merely watched to its last block does not count: a fetch may still be
	/// running then.
	pub fn is_all_read(&self, window: u64) -> bool {
		self.with(|o| o.all_read.contains(&window))
	}

	/// The payloads of `window` fetched during its reveal period, if the whole period was
	/// watched (`None`: fetch directly instead).
	pub fn revealed(&self, window: u64) -> Option<BTreeMap<[u8; 32], Revealed>> {
		self.with(|o| {
			o.complete
				.contains(&window)
				.then(|| o.revealed.get(&window).cloned().unwrap_or_default())
		})
	}

	/// [`Watch::revealed`], once the reveal looks of `window` whose fetch has ended have been
	/// recorded (waiting at most `max_wait`), so a payload read in time is never missed because
	/// it was recorded a moment after the follower looked. A fetch still running is not waited
	/// for: the follower asks once the period is over (or once every payload was read, when none
	/// runs), so it could not count anyway — a store that never answers delays nobody.
	pub async fn revealed_settled(
		&self,
		window: u64,
		max_wait: Duration,
	) -> Option<BTreeMap<[u8; 32], Revealed>> {
		let until = tokio::time::Instant::now() + max_wait;
		while tokio::time::Instant::now() < until {
			let settling = self.with(|o| o.settling.iter().any(|(w, _)| *w == window));
			if !settling {
				break;
			}
			tokio::time::sleep(Duration::from_millis(20)).await;
		}
		self.revealed(window)
	}

	/// The committers of `window` whose committed payload has been read so far in its reveal
	/// period.
	pub fn revealed_so_far(&self, window: u64) -> Vec<[u8; 32]> {
		self.with(|o| {
			o.revealed
				.get(&window)
				.map(|m| {
					m.iter()
						.filter(|(_, r)| matches!(r, Revealed::Bytes(_)))
						.map(|(a, _)| *a)
						.collect()
				})
				.unwrap_or_default()
		})
	}

	/// The committers of `window` whose payload appeared after its reveal period.
	pub fn late(&self, window: u64) -> BTreeSet<[u8; 32]> {
		self.with(|o| o.late.get(&window).cloned().unwrap_or_default())
	}

	fn record_early(&self, window: u64, accounts: Vec<[u8; 32]>) {
		self.with(|o| {
			let seen = o.early.entry(window).or_default();
			for a in accounts {
				if seen.insert(a) {
					tracing::warn!(
						window,
						phase = "reveal",
						miner = %tessera_chain::address::ss58(&a),
						"payload readable before the window closed: early upload"
					);
				}
			}
		});
	}

	/// Records a payload read (or found unusable) in its reveal period; the window is all read
	/// at once when that was the last watched one (not at the watcher's next block), and a
	/// waiting miner is woken ([`Watch::all_read_signalled`]).
	fn record_revealed(&self, window: u64, account: [u8; 32], got: Revealed) {
		let all_read = self.with(|o| {
			let revealed = o.revealed.entry(window).or_default();
			revealed.insert(account, got);
			let now_all = o.reveal_watched.get(&window).is_some_and(|watched| {
				!watched.is_empty() && watched.iter().all(|a| revealed.contains_key(a))
			});
			now_all && !o.all_read.contains(&window)
		});
		if all_read {
			self.mark_all_read(window);
		}
	}

	/// The committers whose payloads `window`'s reveal period watches (told in time); all read
	/// at once when every one was recorded already.
	fn set_reveal_watched(&self, window: u64, accounts: BTreeSet<[u8; 32]>) {
		let all_read = self.with(|o| {
			let revealed = o.revealed.get(&window);
			let now_all = !accounts.is_empty()
				&& accounts.iter().all(|a| revealed.is_some_and(|r| r.contains_key(a)));
			o.reveal_watched.insert(window, accounts);
			now_all && !o.all_read.contains(&window)
		});
		if all_read {
			self.mark_all_read(window);
		}
	}

	fn mark_complete(&self, window: u64) {
		self.with(|o| o.complete.insert(window));
	}

	fn mark_all_read(&self, window: u64) {
		self.with(|o| {
			o.complete.insert(window);
			o.all_read.insert(window)
		});
		self.1.notify_one();
	}

	/// Returns once a window's payloads have all been read since the last return (at once when
	/// that happened while nobody waited): a miner steps then rather than at the next block
	/// (issue 23 item 4). A wake with nothing new is harmless: the follower checks.
	pub async fn all_read_signalled(&self) {
		self.1.notified().await;
	}

	/// Claims the look `(window, account, look)`; false when one is already running.
	fn start(&self, window: u64, account: [u8; 32], look: Look) -> bool {
		self.with(|o| o.in_flight.insert((window, account, look)))
	}

	fn finish(&self, window: u64, account: [u8; 32], look: Look) {
		self.with(|o| {
			o.in_flight.remove(&(window, account, look));
			o.settling.remove(&(window, account));
		});
	}

	/// A reveal look's fetch ended; it is checking whether in time.
	fn settle(&self, window: u64, account: [u8; 32]) {
		self.with(|o| o.settling.insert((window, account)));
	}

	fn record_late(&self, window: u64, accounts: Vec<[u8; 32]>) {
		self.with(|o| {
			let seen = o.late.entry(window).or_default();
			for a in accounts {
				if seen.insert(a) {
					tracing::warn!(
						window,
						phase = "reveal",
						miner = %tessera_chain::address::ss58(&a),
						"payload uploaded after the reveal period: late"
					);
				}
			}
		});
	}

	fn prune(&self, below: u64) {
		self.with(|o| {
			o.early.retain(|w, _| *w >= below);
			o.revealed.retain(|w, _| *w >= below);
			o.complete.retain(|w| *w >= below);
			o.all_read.retain(|w| *w >= below);
			o.reveal_watched.retain(|w, _| *w >= below);
			o.late.retain(|w, _| *w >= below);
			o.settling.retain(|(w, _)| *w >= below);
		});
	}
}

/// How the watcher works.
#[derive(Clone, Debug)]
pub struct WatchConfig {
	/// The nodes, in order of preference: the watcher moves to the next when its connection
	/// fails or its node is silent for `stall`.
	pub endpoints: chain::Endpoints,
	/// How long a silent node is waited for.
	pub stall: Duration,
	/// How locations map to stores.
	pub resolver: Resolver,
	/// Largest payload fetched.
	pub max_bytes: usize,
	/// Deadline of one fetch or probe.
	pub fetch_timeout: Duration,
	/// Look only at the aggregation set's payloads (a follower: nothing else enters θ); a
	/// validator looks at every commitment, to score it.
	pub members_only: bool,
}

/// Starts the watcher; it runs until the process ends, reconnecting when the node goes away.
pub fn spawn(config: WatchConfig) -> Watch {
	let watch = Watch::default();
	let handle = watch.clone();
	tokio::spawn(tracing::Instrument::in_current_span(async move {
		let mut state = WatcherState::default();
		let mut endpoints = config.endpoints.clone();
		loop {
			let url = endpoints.current().to_string();
			if let Err(e) = session(&config, &url, &handle, &mut state).await {
				let to = endpoints.advance();
				tracing::debug!(error = %e, from = %url, %to, "watcher: chain connection lost; reconnecting");
			}
			tokio::time::sleep(Duration::from_secs(1)).await;
		}
	}));
	watch
}

/// What the watcher keeps between blocks.
#[derive(Default)]
struct WatcherState {
	/// The commitments of the window in its reveal period (final once it closed).
	closed: Option<(u64, Vec<Committed>)>,
	/// Aggregation sets by window (fixed when a window opens), for `members_only`.
	sets: BTreeMap<u64, BTreeSet<[u8; 32]>>,
}

impl WatcherState {
	/// `commitments` of `window` that the watcher looks at: all, or the set's only.
	async fn watched(
		&mut self,
		config: &WatchConfig,
		client: &Client,
		n: u64,
		window: u64,
		commitments: Vec<Committed>,
	) -> Result<Vec<Committed>, ChainError> {
		if !config.members_only {
			return Ok(commitments);
		}
		let set = match self.sets.get(&window) {
			Some(set) => set.clone(),
			None => {
				let set: BTreeSet<[u8; 32]> =
					chain::network::aggregation_set(client, n, window).await?.into_iter().collect();
				// An empty set (a window unknown at this block) is asked again next time.
				if !set.is_empty() {
					let oldest = window.saturating_sub(2);
					self.sets.retain(|w, _| *w >= oldest);
					self.sets.insert(window, set.clone());
				}
				set
			},
		};
		Ok(commitments.into_iter().filter(|c| set.contains(&c.account)).collect())
	}
}

async fn newest(client: &Client) -> Result<u64, ChainError> {
	Ok(client.at_current_block().await.map_err(ChainError::query)?.block_number())
}

async fn session(
	config: &WatchConfig,
	url: &str,
	watch: &Watch,
	state: &mut WatcherState,
) -> Result<(), ChainError> {
	let client = chain::endpoints::connect_within(url, config.stall).await?;
	let mut blocks = client.stream_blocks().await.map_err(|e| ChainError::Blocks(e.to_string()))?;
	let mut cache = chain::network::TimingCache::default();
	while let Some(block) = chain::endpoints::within(config.stall, url, blocks.next()).await? {
		let n = block.map_err(|e| ChainError::Blocks(e.to_string()))?.number();
		let timing = cache.at(&client, n).await?;
		observe(config, watch, state, &client, &timing, n).await?;
	}
	Err(ChainError::Blocks("the node closed the finalized block stream".into()))
}

async fn observe(
	config: &WatchConfig,
	watch: &Watch,
	state: &mut WatcherState,
	client: &Client,
	timing: &Timing,
	n: u64,
) -> Result<(), ChainError> {
	let window = timing.window_of(n);
	// Early: the running window's commitments, readable already?
	let window_end = timing.start(window + 1);
	if window >= 1 && newest(client).await? < window_end {
		let commitments = chain::network::commitments(client, n, window).await?;
		let commitments = state.watched(config, client, n, window, commitments).await?;
		let seen = watch.early(window);
		for c in commitments.into_iter().filter(|c| !seen.contains(&c.account)) {
			spawn_look(config, watch, client, Look::Early, window, c, window_end);
		}
	}

	// Revealed and late: the previous window's payloads.
	if let Some(prev) = window.checked_sub(1).filter(|p| *p >= 1) {
		let commitments = match &state.closed {
			Some((w, c)) if *w == prev => c.clone(),
			_ => {
				let c = chain::network::commitments(client, n, prev).await?;
				let c = state.watched(config, client, n, prev, c).await?;
				state.closed = Some((prev, c.clone()));
				c
			},
		};
		let revealed: BTreeSet<[u8; 32]> = watch.with(|o| {
			o.revealed.get(&prev).map(|m| m.keys().copied().collect()).unwrap_or_default()
		});
		let reveal_end = timing.reveal_end(prev);
		if n < reveal_end {
			// Each pending payload is fetched by a task of its own, recorded if it arrived in
			// time; the observation is complete once the last reveal block is watched in time.
			let in_time = newest(client).await? < reveal_end;
			if in_time {
				watch.set_reveal_watched(prev, commitments.iter().map(|c| c.account).collect());
			}
			for c in commitments.iter().filter(|c| !revealed.contains(&c.account)) {
				spawn_look(config, watch, client, Look::Reveal, prev, c.clone(), reveal_end);
			}
			match reveal_mark(n, reveal_end, in_time, &commitments, &revealed) {
				RevealMark::AllRead => watch.mark_all_read(prev),
				RevealMark::Complete => watch.mark_complete(prev),
				RevealMark::Open => {},
			}
		} else if n < timing.score_deadline(prev) {
			let late = watch.late(prev);
			let deadline = timing.score_deadline(prev);
			for c in commitments
				.into_iter()
				.filter(|c| !revealed.contains(&c.account) && !late.contains(&c.account))
			{
				spawn_look(config, watch, client, Look::Late, prev, c, deadline);
			}
		}
	}
	watch.prune(window.saturating_sub(2));
	Ok(())
}

/// What a block of a window's reveal period, watched in time or not, says of its observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RevealMark {
	/// Not complete yet.
	Open,
	/// The last reveal block was watched in time: what was not read is missing.
	Complete,
	/// Every watched payload (at least one) has an outcome: the step may be applied now.
	AllRead,
}

/// The mark of block `n` (before `reveal_end`, the period's first block after it), watched
/// `in_time` or not, for the `watched` commitments of which `revealed` have an outcome. No
/// commitment at all is never "all read" (an aggregation set not known yet filters everything
/// out): such a window waits for the period's end.
fn reveal_mark(
	n: u64,
	reveal_end: u64,
	in_time: bool,
	watched: &[Committed],
	revealed: &BTreeSet<[u8; 32]>,
) -> RevealMark {
	if !in_time {
		RevealMark::Open
	} else if !watched.is_empty() && watched.iter().all(|c| revealed.contains(&c.account)) {
		RevealMark::AllRead
	} else if n + 1 == reveal_end {
		RevealMark::Complete
	} else {
		RevealMark::Open
	}
}

/// Starts one look at `c`'s store for `window`, unless one is running; its outcome is recorded
/// only if the chain's newest block is still below `before` when it ends.
fn spawn_look(
	config: &WatchConfig,
	watch: &Watch,
	client: &Client,
	look: Look,
	window: u64,
	c: Committed,
	before: u64,
) {
	if !watch.start(window, c.account, look) {
		return;
	}
	let (config, watch, client) = (config.clone(), watch.clone(), client.clone());
	tokio::spawn(tracing::Instrument::in_current_span(async move {
		let probe_deadline = config.fetch_timeout.min(PROBE_TIMEOUT);
		let outcome = match look {
			Look::Early | Look::Late => {
				let readable = fetch::probe(&config.resolver, window, &[&c], probe_deadline).await;
				(!readable.is_empty()).then_some(None)
			},
			Look::Reveal => loop {
				let fetched = fetch::fetch_bytes(
					&config.resolver,
					window,
					&c,
					config.max_bytes,
					config.fetch_timeout,
				)
				.await;
				match fetched {
					Ok(bytes) => break Some(Some(Revealed::Bytes(bytes))),
					// Absent or unreachable: looked at again until the period ends, not only at
					// the next block — a payload uploaded in the period's last block, after
					// that block's look, was readable in time. Anything else is final.
					Err(e) if e.is_missing() => {
						if !newest(&client).await.is_ok_and(|newest| newest < before) {
							break None;
						}
						tokio::time::sleep(REVEAL_RETRY).await;
					},
					Err(e) => break Some(Some(Revealed::Unusable(e.to_string()))),
				}
			},
		};
		if look == Look::Reveal {
			watch.settle(window, c.account);
		}
		let in_time = newest(&client).await.is_ok_and(|newest| newest < before);
		match (outcome, in_time) {
			(Some(Some(revealed)), true) => watch.record_revealed(window, c.account, revealed),
			(Some(None), true) if look == Look::Early => {
				watch.record_early(window, vec![c.account])
			},
			(Some(None), true) => watch.record_late(window, vec![c.account]),
			_ => {},
		}
		watch.finish(window, c.account, look);
	}));
}

/// The longest one existence check waits.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How soon a reveal look asks again for a payload that is not there yet.
const REVEAL_RETRY: Duration = Duration::from_millis(250);

#[cfg(test)]
mod tests {
	use super::*;

	const W: u64 = 4;
	const SILENT: [u8; 32] = [9; 32];
	const HONEST: [u8; 32] = [1; 32];

	/// Issue 17 item 9: a reveal fetch still running when the follower asks (a store that never
	/// answers) delays nobody: it could only end after the reveal period, so it could not count.
	#[tokio::test]
	async fn a_fetch_that_never_ends_delays_nobody() {
		let watch = Watch::default();
		assert!(watch.start(W, SILENT, Look::Reveal));
		assert!(watch.start(W, HONEST, Look::Reveal));
		watch.record_revealed(W, HONEST, Revealed::Bytes(Bytes::from_static(b"payload")));
		watch.finish(W, HONEST, Look::Reveal);
		watch.mark_complete(W);
		let started = std::time::Instant::now();
		let seen = watch.revealed_settled(W, Duration::from_secs(10)).await;
		assert!(started.elapsed() < Duration::from_secs(1), "waited {:?}", started.elapsed());
		let seen = seen.expect("the period was watched");
		assert!(matches!(seen.get(&HONEST), Some(Revealed::Bytes(_))));
		assert!(!seen.contains_key(&SILENT));
	}

	fn committed(account: [u8; 32]) -> Committed {
		Committed {
			account,
			payload_hash: [0; 32],
			payload_len: 1,
			committed_at: 1,
			location: None,
		}
	}

	/// The step may come early only when every watched payload has an outcome: the last reveal
	/// block watched with one fetch still running completes the period but is not "all read"
	/// (that fetch may still land in time), and a window with nothing watched waits for the end.
	#[test]
	fn only_every_payload_read_lets_the_step_come_early() {
		let watched = [committed(HONEST), committed(SILENT)];
		let one: BTreeSet<[u8; 32]> = [HONEST].into();
		let both: BTreeSet<[u8; 32]> = [HONEST, SILENT].into();
		// Reveal period of blocks 20..23.
		assert_eq!(reveal_mark(20, 23, true, &watched, &one), RevealMark::Open);
		assert_eq!(reveal_mark(22, 23, true, &watched, &one), RevealMark::Complete);
		assert_eq!(reveal_mark(21, 23, true, &watched, &both), RevealMark::AllRead);
		assert_eq!(reveal_mark(22, 23, false, &watched, &both), RevealMark::Open, "watched late");
		assert_eq!(reveal_mark(20, 23, true, &[], &both), RevealMark::Open);
		assert_eq!(reveal_mark(22, 23, true, &[], &both), RevealMark::Complete);

		let watch = Watch::default();
		watch.mark_complete(W);
		assert!(!watch.is_all_read(W) && watch.revealed(W).is_some());
		watch.mark_all_read(W + 1);
		assert!(watch.is_all_read(W + 1) && watch.revealed(W + 1).is_some());
		watch.prune(W + 2);
		assert!(!watch.is_all_read(W + 1));
	}

	/// Issue 23 item 4: the window is all read the moment its last watched payload is recorded,
	/// not at the watcher's next block, and a miner waiting for that is woken (also when it
	/// was busy at that moment); an unwatched or partly read window is not.
	#[tokio::test]
	async fn the_last_payload_read_marks_the_window_and_wakes_the_miner() {
		let watch = Watch::default();
		let bytes = || Revealed::Bytes(Bytes::from_static(b"payload"));
		// Not watched yet (the set is not known): nothing is all read.
		watch.record_revealed(W, HONEST, bytes());
		assert!(!watch.is_all_read(W));
		watch.set_reveal_watched(W + 1, [HONEST, SILENT].into());
		watch.record_revealed(W + 1, HONEST, bytes());
		assert!(!watch.is_all_read(W + 1), "one of two read");
		watch.record_revealed(W + 1, SILENT, Revealed::Unusable("not the committed bytes".into()));
		assert!(watch.is_all_read(W + 1) && watch.revealed(W + 1).is_some());
		// The signal was given while nobody waited: the next wait returns at once.
		tokio::time::timeout(Duration::from_secs(1), watch.all_read_signalled())
			.await
			.expect("the signal is kept for a miner that was busy");
		// And no second signal without a new window all read.
		let again = tokio::time::timeout(Duration::from_millis(50), watch.all_read_signalled());
		assert!(again.await.is_err());
	}

	/// A look whose fetch ended in time and that is being recorded is waited for, so the
	/// payload is not missed for being recorded a moment after the follower asked.
	#[tokio::test]
	async fn a_look_being_recorded_is_waited_for() {
		let watch = Watch::default();
		assert!(watch.start(W, HONEST, Look::Reveal));
		watch.settle(W, HONEST);
		watch.mark_complete(W);
		let recorder = watch.clone();
		tokio::spawn(async move {
			tokio::time::sleep(Duration::from_millis(200)).await;
			recorder.record_revealed(W, HONEST, Revealed::Bytes(Bytes::from_static(b"late")));
			recorder.finish(W, HONEST, Look::Reveal);
		});
		let seen = watch.revealed_settled(W, Duration::from_secs(10)).await.expect("watched");
		assert!(matches!(seen.get(&HONEST), Some(Revealed::Bytes(_))));
	}
}
