//! acd-emu against plain HTTP requests shaped like those real clients sent (rclone/go-acd,
//! acd_cli, cs-acd, duplicity). Nothing here goes through acdc's own drive client: the
//! emulator must stand on its own against the reference.

mod changes;
mod content;
mod faults;
mod harness;
mod nodes;
mod oauth;
mod process;
