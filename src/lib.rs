pub mod config;
pub mod emu;
pub mod names;
