//! `account status`: what the chain says of one account, read at one finalized block: its
//! balance, role, deposit, stake, storage location, whether it is leaving (and when its
//! deposit and unbonding stake come free), and its recent windows' scores and earnings.

use crate::audit::query::{self, PeerAudit};
use serde::Serialize;
use tessera_chain::{ChainError, Client, account, address, amount};

/// How many windows back `status` looks by default.
pub const RECENT_WINDOWS: u64 = 10;

/// Amounts go out as decimal strings of base units (as `parameters --json` does): JSON
/// readers that hold numbers as doubles would round them.
fn decimal<S: serde::Serializer>(value: &u128, s: S) -> Result<S::Ok, S::Error> {
	s.serialize_str(&value.to_string())
}

/// Stake on its way out.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Unbonding {
	/// Amount, in base units.
	#[serde(serialize_with = "decimal")]
	pub amount: u128,
	/// First block `account withdraw` releases it at.
	pub unlock_at: u64,
}

/// What `account status` shows (amounts in base units, 10⁻¹² TSR).
#[derive(Clone, Debug, Serialize)]
pub struct Status {
	/// The account (SS58).
	pub account: String,
	/// The block it was read at.
	pub block: u64,
	/// The open window.
	pub window: u64,
	/// Spendable balance, in base units.
	#[serde(serialize_with = "decimal")]
	pub free: u128,
	/// Bonded stake that counts, in base units.
	#[serde(serialize_with = "decimal")]
	pub stake: u128,
	/// Stake unbonding.
	pub unbonding: Option<Unbonding>,
	/// `miner`, `validator`, or `none` (not registered).
	pub role: String,
	/// Deposit held while registered, in base units.
	#[serde(serialize_with = "decimal")]
	pub deposit: u128,
	/// Storage location on chain (`endpoint bucket/prefix`).
	pub location: Option<String>,
	/// Block it registered at.
	pub registered_at: Option<u64>,
	/// Once leaving: the block from which `account withdraw` releases the deposit and stake.
	pub withdrawable_from: Option<u64>,
	/// Holds a validator permit for the open window.
	pub permit: bool,
	/// Incentive weight, in `[0, 1]`, and the recent windows (scores, flags, earnings).
	pub history: PeerAudit,
	/// What the recent windows paid it in all, in base units.
	#[serde(serialize_with = "decimal")]
	pub recent_earnings: u128,
}

/// `who`'s status at block `number`, with the last `windows` windows.
pub async fn read(
	client: &Client,
	number: u64,
	who: [u8; 32],
	windows: u64,
) -> Result<Status, ChainError> {
	let standing = account::standing(client, number, &who).await?;
	let from = standing.window.saturating_sub(windows.saturating_sub(1)).max(1);
	let history = query::peer(client, number, who, from, standing.window).await?;
	let registration = standing.registration.as_ref();
	Ok(Status {
		account: address::ss58(&who),
		block: number,
		window: standing.window,
		free: standing.free,
		stake: standing.stake,
		unbonding: standing
			.unbonding
			.map(|u| Unbonding { amount: u.amount, unlock_at: u.unlock_at }),
		role: registration.map_or("none", |r| r.role).into(),
		deposit: registration.map_or(0, |r| r.deposit),
		location: registration
			.and_then(|r| r.location.as_ref())
			.map(|l| format!("{} {}/{}", l.endpoint, l.bucket, l.prefix)),
		registered_at: registration.map(|r| r.registered_at),
		withdrawable_from: registration.and_then(|r| r.withdraw_from),
		permit: standing.permit,
		recent_earnings: history.windows.iter().map(|w| w.earned).sum(),
		history,
	})
}

/// `status` for people.
pub fn table(s: &Status) -> String {
	let mut out = String::new();
	let mut row = |name: &str, value: String| out.push_str(&format!("{name:<14} {value}\n"));
	let name = s.history.name.as_ref().map_or(String::new(), |n| format!(" ({n})"));
	row("account", format!("{}{name}", s.account));
	row("at", format!("block {}, window {}", s.block, s.window));
	row("role", s.role.clone());
	row("free", amount::short(s.free));
	row("deposit", amount::short(s.deposit));
	row("stake", amount::short(s.stake));
	if let Some(u) = s.unbonding {
		let text = format!("{} (withdrawable from block {})", amount::short(u.amount), u.unlock_at);
		row("unbonding", text);
	}
	if s.role == "validator" {
		row("permit", if s.permit { "yes, this window" } else { "no" }.into());
	}
	if let Some(location) = &s.location {
		row("storage", location.clone());
	}
	if let Some(at) = s.registered_at {
		row("registered", format!("block {at}"));
	}
	if let Some(from) = s.withdrawable_from {
		row("leaving", format!("deposit withdrawable from block {from} (account withdraw)"));
	}
	row("incentive", format!("{:.4}", s.history.incentive));
	row(
		"earned",
		format!(
			"{} in the last {} windows",
			amount::short(s.recent_earnings),
			s.history.windows.len()
		),
	);
	if !s.history.windows.is_empty() {
		out.push_str("\nwindow  committed  applied  score   earned\n");
		for w in &s.history.windows {
			out.push_str(&format!(
				"{:>6}  {:<9}  {:<7}  {:<6}  {}{}\n",
				w.window,
				if w.committed { "yes" } else { "no" },
				if w.included { "yes" } else { "no" },
				w.score.map_or("-".into(), |s| format!("{s:.3}")),
				amount::short(w.earned),
				if w.flags.is_empty() { String::new() } else { format!("  {}", w.flags.join(",")) },
			));
		}
	}
	out
}
