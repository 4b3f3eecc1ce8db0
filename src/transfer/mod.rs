//! The transfer engine: the queue behind the queue panel and `acdc copy`. It owns all
//! transfer I/O in tokio tasks and reports every state change and sampled progress as
//! events; callers only show what it tells them.

pub mod engine;
pub mod journal;
pub mod plan;
pub mod state;

pub use engine::{Command, ConflictPolicy, Engine, EngineOptions, Event, JobId, JobSpec};
pub use state::TransferState;
