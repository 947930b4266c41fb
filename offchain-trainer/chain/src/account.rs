//! One account's standing on chain at a block: its balance, what is held from it (the peer
//! deposit, bonded and unbonding stake), its registration (role, storage location, leaving),
//! and whether it holds a validator permit for the open window; and sending balance to another
//! account.

use super::{AccountId, ChainError, Client, TesseraConfig, network, runtime, tx};
use subxt::extrinsics::ExtrinsicEvents;
use subxt_signer::sr25519::Keypair;
use tessera_store::Location;

/// A registered peer's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
	/// `miner` or `validator`.
	pub role: &'static str,
	/// Where its payloads and checkpoints are read.
	pub location: Option<Location>,
	/// The deposit held while it is registered, in base units.
	pub deposit: u128,
	/// Block it registered at (0: genesis).
	pub registered_at: u64,
	/// Block it asked to leave at.
	pub leaving_at: Option<u64>,
	/// First block `withdraw_deposit` releases the deposit (and all stake) at, once leaving.
	pub withdraw_from: Option<u64>,
}

/// Stake being unbonded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unbonding {
	/// Amount, in base units.
	pub amount: u128,
	/// First block `withdraw_unbonded` releases it at.
	pub unlock_at: u64,
}

/// An account's standing at one block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
	/// The block it was read at.
	pub block: u64,
	/// The open window then.
	pub window: u64,
	/// Spendable balance, in base units.
	pub free: u128,
	/// Bonded stake that counts (held for stake, less what is unbonding), in base units.
	pub stake: u128,
	/// Stake on its way out.
	pub unbonding: Option<Unbonding>,
	/// The peer record, when registered.
	pub registration: Option<Registration>,
	/// Holds a validator permit for the open window.
	pub permit: bool,
}

/// `who`'s standing at block `number`.
pub async fn standing(
	client: &Client,
	number: u64,
	who: &[u8; 32],
) -> Result<Standing, ChainError> {
	use runtime::runtime_types::{
		pallet_training::{pallet::HoldReason, types::Role},
		tessera_runtime::RuntimeHoldReason,
	};
	let account = AccountId::from(*who);
	let at = client.at_block(number).await.map_err(ChainError::query)?;
	let storage = at.storage();
	let free = match storage
		.try_fetch(runtime::storage().system().account(), (account,))
		.await
		.map_err(ChainError::query)?
	{
		Some(info) => info.decode().map_err(ChainError::query)?.data.free,
		None => 0,
	};
	let held_for_stake = match storage
		.try_fetch(runtime::storage().balances().holds(), (account,))
		.await
		.map_err(ChainError::query)?
	{
		Some(holds) => holds
			.decode()
			.map_err(ChainError::query)?
			.0
			.into_iter()
			.filter(|h| matches!(h.id, RuntimeHoldReason::Training(HoldReason::ValidatorStake)))
			.map(|h| h.amount)
			.sum(),
		None => 0,
	};
	let unbonding = match storage
		.try_fetch(runtime::storage().training().unbonding_stake(), (account,))
		.await
		.map_err(ChainError::query)?
	{
		Some(u) => {
			let u = u.decode().map_err(ChainError::query)?;
			Some(Unbonding { amount: u.amount, unlock_at: u.unlock_at.into() })
		},
		None => None,
	};
	let (in_force, _) = super::parameters::at(client, number).await?;
	let registration = match storage
		.try_fetch(runtime::storage().training().peers(), (account,))
		.await
		.map_err(ChainError::query)?
	{
		Some(peer) => {
			let peer = peer.decode().map_err(ChainError::query)?;
			let leaving_at = peer.leaving_at.map(u64::from);
			Some(Registration {
				role: match peer.role {
					Role::Miner => "miner",
					Role::Validator => "validator",
				},
				location: network::location_of(peer.location),
				deposit: peer.deposit,
				registered_at: peer.registered_at.into(),
				leaving_at,
				withdraw_from: leaving_at.map(|at| {
					// As `withdraw_deposit` asks: the cool-down, and with stake held the
					// unbonding period from leaving and the end of any unbonding.
					let cooled = at.saturating_add(u64::from(in_force.deregister_cooldown));
					if held_for_stake == 0 {
						return cooled;
					}
					let unbonded = at.saturating_add(u64::from(in_force.unbonding_period));
					cooled.max(unbonded).max(unbonding.map_or(0, |u| u.unlock_at))
				}),
			})
		},
		None => None,
	};
	let window = network::current_window(client, number).await?;
	let permit = match storage
		.try_fetch(runtime::storage().training().window_validators(), (window,))
		.await
		.map_err(ChainError::query)?
	{
		Some(v) => v.decode().map_err(ChainError::query)?.0.contains(&account),
		None => false,
	};
	Ok(Standing {
		block: number,
		window,
		free,
		stake: held_for_stake.saturating_sub(unbonding.map_or(0, |u| u.amount)),
		unbonding,
		registration,
		permit,
	})
}

/// Sends `amount` base units of the signer's free balance to `to`, refusing to leave the
/// signer's own account below the existential deposit (`Balances::transfer_keep_alive`).
pub async fn transfer(
	client: &Client,
	signer: &Keypair,
	to: &[u8; 32],
	amount: u128,
) -> Result<ExtrinsicEvents<TesseraConfig>, tx::TxError> {
	let dest = subxt::utils::MultiAddress::Id(AccountId::from(*to));
	let call = runtime::transactions().balances().transfer_keep_alive(dest, amount);
	tx::submit_and_finalize(client, &call, signer).await
}
