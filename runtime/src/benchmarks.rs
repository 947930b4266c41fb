//! The pallets whose frame-benchmarking benchmarks the node's `benchmark pallet` subcommand can
//! run (only with the `runtime-benchmarks` feature; see scripts/generate-weights.sh).

frame_benchmarking::define_benchmarks!([pallet_training, Training]);
