pub mod auth;
pub mod config;
pub mod drive;
pub mod emu;
pub mod names;
