//! One window's exchange of updates (DESIGN.md §2 steps 3–6), as every peer — miner or
//! validator — sees it: what the chain recorded ([`WindowRecord`]: the aggregation set and every
//! commitment), what could be read from the committers' stores ([`watch`]: early probes while
//! the window runs, fetches during the reveal period, late probes after it, in a task of its
//! own; [`fetch`]: the requests themselves), and the objective rules that decide
//! which updates enter the aggregate ([`screen`]: missing, invalid, early, copied, diverged).
//! Miners and validators apply the same rules to the same inputs, so they include the same
//! updates and reach the same θ; the validators' on-chain verdict settles any difference.

pub mod fetch;
pub mod screen;
pub mod watch;

pub use fetch::{Exclusion, fetch_all, fetch_one, probe};
pub use screen::{Previous, Screened, inclusion, screen};
pub use watch::{Revealed, Watch, WatchConfig};

pub use tessera_chain::flags;
pub use tessera_chain::record::{Committed, Verdict, WindowRecord};
