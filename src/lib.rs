pub mod emu;
pub mod names;
