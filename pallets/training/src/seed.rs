//! Where a window's seed comes from: a `Config` seam so another runtime can supply its own
//! randomness. The default is the parent block's hash (DESIGN.md §2 step 1).

use core::marker::PhantomData;
use sp_core::H256;

/// Supplies the seed of a window opening in the current block.
pub trait WindowSeedSource {
	/// The seed for a window whose first block is the block being initialised.
	fn window_seed() -> H256;
}

/// The hash of the block before the window's first block (`frame_system::parent_hash`).
pub struct ParentHashSeed<T>(PhantomData<T>);

impl<T: frame_system::Config> WindowSeedSource for ParentHashSeed<T>
where
	T::Hash: Into<H256>,
{
	fn window_seed() -> H256 {
		frame_system::Pallet::<T>::parent_hash().into()
	}
}
