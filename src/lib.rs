pub mod auth;
pub mod cli;
pub mod config;
pub mod drive;
pub mod emu;
pub mod names;
pub mod transfer;
