//! `offchain-trainer parameters`: shows the chain's governed parameters (in force, and those
//! scheduled for the next window); with any of the change flags and the chain's sudo key (the
//! key options: `--suri //Alice` on a dev chain), schedules a new set that takes effect when
//! the next window opens.

use anyhow::Context;
use tessera_chain::parameters::Parameters;

/// Options of `offchain-trainer parameters`.
#[derive(Debug, clap::Args)]
pub(crate) struct ParametersArgs {
	/// WebSocket URL of a tessera node.
	#[arg(long, env = "TESSERA_NODE_URL", default_value = "ws://127.0.0.1:9944")]
	url: String,
	/// The chain's sudo key (`--suri //Alice` on dev chains): schedule the changes given below.
	#[command(flatten)]
	key: crate::key::KeyArgs,
	/// Print JSON instead of a table.
	#[arg(long)]
	json: bool,
	/// Blocks per window.
	#[arg(long)]
	window_length: Option<u32>,
	/// Blocks after a window during which its payloads are revealed.
	#[arg(long)]
	reveal_blocks: Option<u32>,
	/// Blocks after a window during which validators' results are accepted.
	#[arg(long)]
	score_deadline_blocks: Option<u32>,
	/// Blocks from `deregister` to `withdraw_deposit`.
	#[arg(long)]
	deregister_cooldown: Option<u32>,
	/// Blocks from `unbond` to `withdraw_unbonded`.
	#[arg(long)]
	unbonding_period: Option<u32>,
	/// Blocks a newcomer cannot be evicted.
	#[arg(long)]
	immunity_period: Option<u32>,
	/// Deposit held from each new peer, in planck.
	#[arg(long)]
	peer_deposit: Option<u128>,
	/// Least stake for a validator permit, in planck.
	#[arg(long)]
	min_validator_stake: Option<u128>,
	/// What a window pays in all, in planck.
	#[arg(long)]
	emission_per_window: Option<u128>,
	/// Miners' share of the emission, in percent.
	#[arg(long)]
	miners_share: Option<f64>,
	/// Validators' share of the emission, in percent.
	#[arg(long)]
	validators_share: Option<f64>,
	/// Weight of a new verdict in the incentive EMA, in percent.
	#[arg(long)]
	incentive_alpha: Option<f64>,
	/// Weight of a new sample in the agreement EMA, in percent.
	#[arg(long)]
	agreement_alpha: Option<f64>,
}

use tessera_chain::runtime::runtime_types::sp_arithmetic::per_things::Perbill;

fn perbill(flag: &str, percent: f64) -> anyhow::Result<Perbill> {
	anyhow::ensure!(
		percent.is_finite() && (0.0..=100.0).contains(&percent),
		"--{flag} must be a percentage in 0..=100, not {percent}"
	);
	Ok(Perbill((percent * 1e7).round() as u32))
}

fn percent(p: &Perbill) -> f64 {
	f64::from(p.0) / 1e7
}

impl ParametersArgs {
	/// `p` with every change flag given applied; `None` when none is.
	fn changed(&self, mut p: Parameters) -> anyhow::Result<Option<Parameters>> {
		let before = p.clone();
		macro_rules! set {
			($($field:ident),*) => { $(if let Some(v) = self.$field { p.$field = v; })* };
		}
		set!(
			window_length,
			reveal_blocks,
			score_deadline_blocks,
			deregister_cooldown,
			unbonding_period,
			immunity_period,
			peer_deposit,
			min_validator_stake,
			emission_per_window
		);
		macro_rules! share {
			($($field:ident),*) => {
				$(if let Some(v) = self.$field {
					p.$field = perbill(&stringify!($field).replace('_', "-"), v)?;
				})*
			};
		}
		share!(miners_share, validators_share, incentive_alpha, agreement_alpha);
		Ok((p != before).then_some(p))
	}
}

fn json(p: &Parameters) -> serde_json::Value {
	serde_json::json!({
		"window_length": p.window_length,
		"reveal_blocks": p.reveal_blocks,
		"score_deadline_blocks": p.score_deadline_blocks,
		"deregister_cooldown": p.deregister_cooldown,
		"unbonding_period": p.unbonding_period,
		"immunity_period": p.immunity_period,
		"peer_deposit": p.peer_deposit.to_string(),
		"min_validator_stake": p.min_validator_stake.to_string(),
		"emission_per_window": p.emission_per_window.to_string(),
		"miners_share_percent": percent(&p.miners_share),
		"validators_share_percent": percent(&p.validators_share),
		"incentive_alpha_percent": percent(&p.incentive_alpha),
		"agreement_alpha_percent": percent(&p.agreement_alpha),
	})
}

fn table(title: &str, p: &Parameters) -> String {
	let rows = json(p);
	let mut out = format!("{title}\n");
	if let Some(map) = rows.as_object() {
		for (name, value) in map {
			let value = value.as_str().map_or_else(|| value.to_string(), str::to_string);
			out.push_str(&format!("  {name:<26} {value}\n"));
		}
	}
	out
}

pub(crate) async fn run(args: ParametersArgs) -> anyhow::Result<()> {
	let client = tessera_chain::connect(&args.url).await?;
	let (in_force, pending) =
		tessera_chain::parameters::current(&client).await.context("reading the parameters")?;
	// Changes apply to what is already scheduled, else to the set in force; none given (or
	// none that changes anything): show both.
	let base = pending.clone().unwrap_or_else(|| in_force.clone());
	let Some(next) = args.changed(base)? else {
		if args.json {
			let out = serde_json::json!({
				"in_force": json(&in_force),
				"next_window": pending.as_ref().map(json),
			});
			println!("{}", serde_json::to_string_pretty(&out)?);
		} else {
			print!("{}", table("in force:", &in_force));
			match &pending {
				Some(p) => print!("{}", table("scheduled for the next window:", p)),
				None => println!("nothing scheduled for the next window"),
			}
		}
		return Ok(());
	};
	anyhow::ensure!(
		args.key.sources().any(),
		"changing a parameter needs the chain's sudo key (--suri //Alice on a dev chain, \
		 --key-file, --keystore or TESSERA_SURI)"
	);
	let root = args.key.load().context("the chain's sudo key")?.pair;
	let (window, at_block) = tessera_chain::parameters::schedule(&client, &root, next.clone())
		.await
		.context("scheduling the parameters")?;
	if args.json {
		let out = serde_json::json!({ "window": window, "at_block": at_block, "parameters": json(&next) });
		println!("{}", serde_json::to_string_pretty(&out)?);
	} else {
		println!("scheduled for window {window} (opens at block {at_block})");
		print!("{}", table("parameters:", &next));
	}
	Ok(())
}
