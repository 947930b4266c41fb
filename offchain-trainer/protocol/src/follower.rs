//! The follower's machine (DESIGN.md §2 steps 6–7), shared by miners and validators: keep θ on
//! the network's. When a window's reveal period ends — or earlier, once every payload the peer
//! watches was read in it — apply its outer step from the peer's own screening (provisional),
//! or — when its verdict is already published (a restart, a peer that fell behind, a joiner) —
//! replay the verdict's inclusion list. When the scoring period closes, settle the provisional
//! step against the verdict: confirmed, recomputed with the verdict's list, or, when even that
//! does not reproduce the verdict's θ, re-synced from a checkpoint.
//!
//! Checkpoints ([`FollowerAction::Resync`]) come from the peer's own directory or from the
//! network (validators' stores, hashes on chain); the driver loads the newest that verifies, and
//! θ_0 when none does. A peer **joins** from the network's newest checkpoint when it is newer
//! than what it holds ([`Follower::on_network_checkpoint`]); a replay that cannot fetch a listed
//! payload — or finds its window no longer on chain — applies nothing and loads a network
//! checkpoint of that window or later, which skips it (a checkpoint before it would need the
//! same payload); θ found corrupt ([`Follower::on_theta_corrupt`]) is reloaded before anything
//! else. After [`MAX_FAILED_RESYNCS`] re-syncs in a
//! row that reproduce nothing, θ is declared diverged: the peer keeps following on its own θ, a
//! miner does not train on it, and a verdict its own step agrees with — or a newer network
//! checkpoint, tried once each — brings it back.
//!
//! Windows are applied strictly in order: a step is only ever asked for on θ_w (the window
//! before it applied), so no window is applied twice onto the same θ.

use crate::timing::{Block, Timing, Window};

/// Re-syncs in a row that did not reproduce a verdict, after which θ is declared diverged.
pub const MAX_FAILED_RESYNCS: u32 = 2;

/// What the follower must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowerAction {
	/// Apply `window`'s outer step from the peer's own screening of its revealed payloads;
	/// report [`Follower::on_stepped`].
	Step {
		/// The window.
		window: Window,
	},
	/// Apply `window`'s outer step with its published verdict's inclusion list; report
	/// [`Follower::on_replayed`].
	Replay {
		/// The window.
		window: Window,
	},
	/// Read `window`'s verdict and compare it with the provisional step; report
	/// [`Follower::on_verdict`].
	Settle {
		/// The window.
		window: Window,
	},
	/// Restore θ_window (before the provisional step) and apply `window`'s step with the
	/// verdict's inclusion list (fetching what was left out); report
	/// [`Follower::on_recomputed`].
	Recompute {
		/// The window.
		window: Window,
	},
	/// Load the newest checkpoint that verifies — the peer's own or the network's — of a window
	/// in `at_least..below` (either end open when `None`; only the network's when
	/// `network_only`) and report [`Follower::on_restored`]; the recorded verdicts are replayed
	/// from there. When none verifies, θ_0 for a [`LoadCause::Mismatch`] or
	/// [`LoadCause::Corrupt`] whose replay from θ_0 is still on chain; otherwise θ is kept and
	/// [`Follower::on_nothing_loaded`] reported.
	Resync {
		/// The window that led here (the next one to apply, for a join).
		window: Window,
		/// Only checkpoints of windows strictly before this one.
		below: Option<Window>,
		/// Only checkpoints of this window or later (they skip a window that cannot be
		/// replayed).
		at_least: Option<Window>,
		/// Skip the peer's own checkpoints (a join, or they already failed to reproduce the
		/// network's θ).
		network_only: bool,
		/// Why.
		cause: LoadCause,
	},
	/// Nothing reproduces the network's θ: keep the own θ and say so.
	Diverged {
		/// The window whose verdict was not reproduced.
		window: Window,
	},
	/// θ after `window` is confirmed: write a checkpoint if one is due.
	Confirmed {
		/// The window.
		window: Window,
	},
}

impl FollowerAction {
	/// The window the action is about.
	pub fn window(&self) -> Window {
		match self {
			Self::Step { window }
			| Self::Replay { window }
			| Self::Settle { window }
			| Self::Recompute { window }
			| Self::Resync { window, .. }
			| Self::Diverged { window }
			| Self::Confirmed { window } => *window,
		}
	}

	/// The phase of the window's life it belongs to, as logs name it: `step` (the own outer
	/// step), `replay`, `settle` (against the verdict, and what confirming leads to),
	/// `recompute` or `resync`.
	pub fn phase(&self) -> &'static str {
		match self {
			Self::Step { .. } => "step",
			Self::Replay { .. } => "replay",
			Self::Settle { .. } | Self::Confirmed { .. } => "settle",
			Self::Recompute { .. } => "recompute",
			Self::Resync { .. } | Self::Diverged { .. } => "resync",
		}
	}
}

/// Why θ is (re)loaded from a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadCause {
	/// The network holds a newer checkpoint than this peer (a start with an empty or old disk,
	/// or a diverged peer trying a new checkpoint).
	Join,
	/// Neither the own step nor a recomputation reproduced a verdict.
	Mismatch,
	/// A replay could not fetch a payload its verdict lists.
	Unreadable,
	/// The next window to replay is no longer on chain.
	Pruned,
	/// θ no longer hashes to what was applied (memory or disk corruption).
	Corrupt,
}

impl core::fmt::Display for LoadCause {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		f.write_str(match self {
			Self::Join => "joining from the network's newest checkpoint",
			Self::Mismatch => "θ does not reproduce the verdict",
			Self::Unreadable => "a payload the verdict lists cannot be fetched",
			Self::Pruned => "the next window to replay is no longer on chain",
			Self::Corrupt => "θ no longer hashes to what was applied",
		})
	}
}

/// What settling found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerdictCheck {
	/// No binding verdict was published: the own step stands.
	NoVerdict,
	/// The verdict's inclusion list and θ hash equal the provisional step's.
	Agrees,
	/// They differ.
	Differs,
}

/// How replaying a verdict went. The driver applies the listed payloads it could fetch either
/// way; a missing one leaves θ off the verdict's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replayed {
	/// θ's hash equals the verdict's.
	Reproduced,
	/// θ's hash differs from the verdict's.
	Mismatch,
	/// No validator scored the window: the own screening was applied, and stands.
	NoVerdict,
	/// A payload the verdict lists could not be fetched: nothing was applied.
	Unreadable,
	/// The window's records are no longer on chain: nothing was applied.
	Pruned,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
	Idle,
	/// A step, replay, settlement or re-sync of this window is being executed.
	Busy(Window),
}

/// The follower's state machine.
#[derive(Clone, Debug)]
pub struct Follower {
	timing: Timing,
	/// The last window whose outer step θ includes (`None`: θ_0).
	applied: Option<Window>,
	/// A window applied from the own screening, awaiting its verdict.
	provisional: Option<Window>,
	failed_resyncs: u32,
	stage: Stage,
	/// The newest network checkpoint a load was asked for (each is tried once).
	tried: Option<Window>,
	/// A load to ask for at the next [`Follower::next`].
	pending: Option<Load>,
	/// The load being executed (asked for again if the connection breaks meanwhile).
	loading: Option<Load>,
	/// The network's checkpoints were looked at once (the start).
	started: bool,
	/// The newest window whose reveal period the driver watched to completion early: every
	/// payload it watches was read (or found unusable) in time.
	revealed: Option<Window>,
}

impl Follower {
	/// A follower whose θ includes the outer steps up to `applied` (a checkpoint's window, or
	/// `None` for θ_0).
	pub fn new(timing: Timing, applied: Option<Window>) -> Self {
		Self {
			timing,
			applied,
			provisional: None,
			failed_resyncs: 0,
			stage: Stage::Idle,
			tried: None,
			pending: None,
			loading: None,
			started: false,
			revealed: None,
		}
	}

	/// Takes the chain's timing as of the newest finalized block: the governed parameters
	/// change only when a window opens, so the windows already open keep theirs.
	pub fn set_timing(&mut self, timing: Timing) {
		self.timing = timing;
	}

	/// The network's newest checkpoint is `newest`: join from it when it is newer than what θ
	/// holds — at start, or once θ is diverged — each checkpoint once.
	pub fn on_network_checkpoint(&mut self, newest: Option<Window>) {
		let first = !self.started;
		self.started = true;
		let Some(newest) = newest else { return };
		if self.tried.is_some_and(|t| t >= newest) {
			return;
		}
		let behind = self.applied.is_none_or(|a| a < newest);
		let join = first && self.provisional.is_none();
		if behind && (join || !self.in_sync()) {
			self.tried = Some(newest);
			if !self.in_sync() {
				// One more attempt: a failure declares θ diverged again.
				self.failed_resyncs = MAX_FAILED_RESYNCS;
			}
			self.pending = Some(Load::join());
		}
	}

	/// θ no longer hashes to what was applied: reload it before anything trains on it.
	pub fn on_theta_corrupt(&mut self) {
		if self.pending.is_none() {
			self.failed_resyncs += 1;
			self.pending = Some(Load { cause: LoadCause::Corrupt, ..Load::newest() });
		}
	}

	/// Every payload of `window` the peer watches was read — or found unusable — during its
	/// reveal period: nothing that arrives later can change its step, so the step may be applied
	/// before the period ends, and the next window's training start that much earlier.
	pub fn on_reveal_complete(&mut self, window: Window) {
		self.revealed = Some(window);
	}

	/// The last window whose outer step θ includes.
	pub fn applied(&self) -> Option<Window> {
		self.applied
	}

	/// The window applied provisionally, awaiting its verdict.
	pub fn provisional(&self) -> Option<Window> {
		self.provisional
	}

	/// Whether θ is believed to be the network's.
	pub fn in_sync(&self) -> bool {
		self.failed_resyncs <= MAX_FAILED_RESYNCS
	}

	/// Whether `window` is applied and settled by its verdict (or needs none).
	pub fn is_confirmed(&self, window: Window) -> bool {
		self.applied.is_some_and(|a| a >= window) && self.provisional.is_none_or(|p| p > window)
	}

	/// The next thing to do at finalized block `n`, if any: settle the provisional window once
	/// its scoring period closed, else apply the next window once its reveal period ended — or,
	/// inside the reveal period, once every watched payload of it was read
	/// ([`Follower::on_reveal_complete`]). The driver executes it, reports its outcome, and asks
	/// again until `None`.
	pub fn next(&mut self, n: Block) -> Option<FollowerAction> {
		if self.stage != Stage::Idle {
			return None;
		}
		let next = self.applied.map_or(0, |a| a + 1);
		if let Some(load) = self.pending.take() {
			if self.failed_resyncs > MAX_FAILED_RESYNCS {
				return Some(self.diverged(next));
			}
			self.provisional = None;
			return Some(self.ask(next, load));
		}
		if let Some(window) = self.provisional {
			if n < self.timing.score_deadline(window) {
				return None;
			}
			self.stage = Stage::Busy(window);
			return Some(FollowerAction::Settle { window });
		}
		let window = self.applied.map_or(0, |a| a + 1);
		let complete = self.revealed == Some(window) && n >= self.timing.reveal_start(window);
		if n < self.timing.reveal_end(window) && !complete {
			return None;
		}
		self.stage = Stage::Busy(window);
		if n >= self.timing.score_deadline(window) {
			Some(FollowerAction::Replay { window })
		} else {
			Some(FollowerAction::Step { window })
		}
	}

	/// `window`'s step was applied from the own screening.
	pub fn on_stepped(&mut self, window: Window) {
		if self.stage != Stage::Busy(window) {
			return;
		}
		self.stage = Stage::Idle;
		self.applied = Some(window);
		self.provisional = Some(window);
	}

	/// Replaying `window`'s verdict went as `replayed`.
	pub fn on_replayed(&mut self, window: Window, replayed: Replayed) -> Vec<FollowerAction> {
		if self.stage != Stage::Busy(window) {
			return Vec::new();
		}
		self.stage = Stage::Idle;
		match replayed {
			// A reproduced replay does not clear the count of failed re-syncs: replaying from a
			// checkpoint reproduces the windows before the one that failed, and clearing it there
			// would re-sync forever. Only a window settled by agreement clears it.
			Replayed::Reproduced | Replayed::NoVerdict => {
				self.applied = Some(window);
				vec![FollowerAction::Confirmed { window }]
			},
			Replayed::Mismatch => {
				self.applied = Some(window);
				self.resync(window)
			},
			// Nothing was applied: only a checkpoint of this window or later skips the payload
			// (or the window) that cannot be had; the network's, since the own ones did not.
			Replayed::Unreadable | Replayed::Pruned => {
				let cause = if replayed == Replayed::Pruned {
					LoadCause::Pruned
				} else {
					LoadCause::Unreadable
				};
				let load = Load { cause, at_least: Some(window), network_only: true, below: None };
				self.load(window, load)
			},
		}
	}

	/// `window`'s verdict was read and compared with the provisional step.
	pub fn on_verdict(&mut self, window: Window, check: VerdictCheck) -> Vec<FollowerAction> {
		if self.stage != Stage::Busy(window) || self.provisional != Some(window) {
			return Vec::new();
		}
		match check {
			VerdictCheck::NoVerdict | VerdictCheck::Agrees => {
				self.stage = Stage::Idle;
				self.provisional = None;
				if check == VerdictCheck::Agrees {
					self.failed_resyncs = 0;
				}
				vec![FollowerAction::Confirmed { window }]
			},
			VerdictCheck::Differs => vec![FollowerAction::Recompute { window }],
		}
	}

	/// Recomputing `window` with the verdict's list did (`reproduced`) or did not give the
	/// verdict's θ.
	pub fn on_recomputed(&mut self, window: Window, reproduced: bool) -> Vec<FollowerAction> {
		if self.stage != Stage::Busy(window) || self.provisional != Some(window) {
			return Vec::new();
		}
		self.stage = Stage::Idle;
		self.provisional = None;
		if reproduced {
			self.failed_resyncs = 0;
			return vec![FollowerAction::Confirmed { window }];
		}
		self.resync(window)
	}

	fn resync(&mut self, window: Window) -> Vec<FollowerAction> {
		// The own checkpoints once; after that only the network's (then θ_0).
		let network_only = self.failed_resyncs >= 1;
		let load =
			Load { cause: LoadCause::Mismatch, below: Some(window), at_least: None, network_only };
		self.load(window, load)
	}

	/// A counted re-sync: diverged after too many in a row.
	fn load(&mut self, window: Window, load: Load) -> Vec<FollowerAction> {
		self.provisional = None;
		self.failed_resyncs += 1;
		if self.failed_resyncs > MAX_FAILED_RESYNCS {
			return vec![self.diverged(window)];
		}
		vec![self.ask(window, load)]
	}

	fn ask(&mut self, window: Window, load: Load) -> FollowerAction {
		self.stage = Stage::Busy(window);
		self.loading = Some(load);
		let Load { cause, below, at_least, network_only } = load;
		FollowerAction::Resync { window, below, at_least, network_only, cause }
	}

	fn diverged(&mut self, window: Window) -> FollowerAction {
		self.stage = Stage::Idle;
		self.provisional = None;
		FollowerAction::Diverged { window }
	}

	/// The driver's connection was lost mid-action (or the process restarted): whatever was
	/// being done is over, θ includes the steps up to `applied`, and the driver holds the data
	/// of a provisional step of window `provisional` (if any). A provisional step still on θ
	/// stays to be settled against its verdict — also one applied just before the connection
	/// broke, whose outcome the machine never heard.
	pub fn on_restart(&mut self, applied: Option<Window>, provisional: Option<Window>) {
		// A load cut short is asked for again (θ may be half-way anywhere).
		if let Some(load) = self.loading.take() {
			self.pending = Some(load);
		}
		self.stage = Stage::Idle;
		self.provisional = provisional.filter(|p| Some(*p) == applied);
		self.applied = applied;
	}

	/// A re-sync for `window` restored θ including the steps up to `applied` (a checkpoint's
	/// window, `None`: θ_0).
	pub fn on_restored(&mut self, window: Window, applied: Option<Window>) {
		if self.stage != Stage::Busy(window) {
			return;
		}
		self.stage = Stage::Idle;
		self.loading = None;
		self.provisional = None;
		self.applied = applied;
	}

	/// A re-sync for `window` found no checkpoint it could use and left θ as it was. A join
	/// by a diverged peer leaves it diverged; any other cause already counted.
	pub fn on_nothing_loaded(&mut self, window: Window) {
		if self.stage != Stage::Busy(window) {
			return;
		}
		self.stage = Stage::Idle;
		let load = self.loading.take();
		if load.is_some_and(|l| l.cause == LoadCause::Join)
			&& self.failed_resyncs >= MAX_FAILED_RESYNCS
		{
			self.failed_resyncs = MAX_FAILED_RESYNCS + 1;
		}
	}
}

/// A load the machine asks for (the fields of [`FollowerAction::Resync`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Load {
	cause: LoadCause,
	below: Option<Window>,
	at_least: Option<Window>,
	network_only: bool,
}

impl Load {
	/// The newest checkpoint, own or network.
	fn newest() -> Self {
		Self { cause: LoadCause::Join, below: None, at_least: None, network_only: false }
	}

	/// The network's newest checkpoint.
	fn join() -> Self {
		Self { network_only: true, ..Self::newest() }
	}
}

#[cfg(test)]
#[path = "follower_tests.rs"]
mod tests;
