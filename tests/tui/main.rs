//! The file manager from the outside: its screens as snapshots, and the real binary driven
//! in a terminal (tmux) against acd-emu.

mod backend;
mod e2e;
mod snapshots;
