//! The headless front end: every operation as a command a script can run (rclone's
//! `remote:path` syntax and output formats, exit codes a script can rely on). `main.rs`
//! parses arguments and calls in here.

pub mod commands;
pub mod copy;
pub mod location;
pub mod session;

use crate::drive::DriveError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error(transparent)]
    Session(#[from] session::SessionError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Drive(DriveError),
    #[error("{0}")]
    Io(String),
    #[error("{failed} of {total} items failed")]
    Partial { failed: usize, total: usize },
}

pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    pub fn from_drive(e: DriveError) -> CliError {
        match e {
            DriveError::NotFound(what) => CliError::NotFound(what),
            other => CliError::Drive(other),
        }
    }

    /// rclone's exit codes: 1 usage, 2 other, 3 directory not found, 4 file not found,
    /// 5 temporary (retries exhausted), 6 some items failed, 7 fatal (config, auth).
    pub fn exit_code(&self) -> i32 {
        use session::SessionError as S;
        match self {
            CliError::Usage(_) => 1,
            CliError::NotFound(_) | CliError::Drive(DriveError::NotFound(_)) => 3,
            CliError::Drive(DriveError::Exhausted { .. } | DriveError::Network(_))
            | CliError::Session(S::Drive(DriveError::Exhausted { .. } | DriveError::Network(_))) => {
                5
            }
            CliError::Partial { .. } => 6,
            CliError::Config(_)
            | CliError::Auth(_)
            | CliError::Session(S::Config(_) | S::Auth(_))
            | CliError::Drive(DriveError::Auth(_))
            | CliError::Session(S::Drive(DriveError::Auth(_))) => 7,
            _ => 2,
        }
    }
}
