//! acd-emu: an emulator of the Amazon Drive REST API as real clients saw it
//! (shared/amazon-drive-api.md). Used by every test, the benchmarks and `acdc --demo`.

pub mod error;
pub mod ids;
pub mod store;
