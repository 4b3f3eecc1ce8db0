//! What passes between the app and the rest: the messages `update` takes, the requests it
//! returns for the backend, the backend's events, and the dialogs those open.

use crossterm::event::{KeyEvent, MouseEvent};

use super::pane::{Place, Side};
use super::wizard::WizardRequest;
use crate::config::NewRemote;
use crate::fs::{Entry, Key, Space};
pub use crate::transfer::Command as QueueCommand;
use crate::transfer::Event as EngineEvent;
use crate::transfer::plan::ScanCounts;

/// Everything `update` is told.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Paste(String),
    Resize(u16, u16),
    /// The time, in milliseconds since the epoch; sent before each batch of messages.
    Tick(u64),
    Backend(Event),
}

/// What the backend is asked to do. It never blocks the UI; answers come back as Events.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    List {
        side: Side,
        listing: u64,
        place: Place,
    },
    Space {
        side: Side,
        place: Place,
    },
    /// Scan `sources` (tree copies walk first), then queue one job per file into `to`.
    /// A move trashes each original once its copy is verified.
    Copy {
        scan: u64,
        sources: Vec<Entry>,
        to: Place,
        and_remove: bool,
    },
    CancelScan(u64),
    /// What to do with a scan's conflicting files.
    Resolve {
        scan: u64,
        resolution: Resolution,
    },
    Mkdir {
        side: Side,
        parent: Place,
        name: String,
    },
    Rename {
        side: Side,
        key: Key,
        name: String,
    },
    Trash {
        side: Side,
        entries: Vec<Entry>,
    },
    /// Local only, after the user confirmed there is no trash to move them to.
    DeleteForGood {
        entries: Vec<Entry>,
    },
    Restore {
        entries: Vec<Entry>,
    },
    Info {
        entry: Entry,
    },
    Queue(QueueCommand),
    /// Connect the Drive pane to this remote (at start, and after the wizard saved one).
    Connect {
        remote: String,
    },
    Wizard(WizardRequest),
    Quit,
}

/// What the backend tells.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Listing {
        listing: u64,
        entries: Vec<Entry>,
        done: bool,
    },
    ListingFailed {
        listing: u64,
        message: String,
    },
    Space {
        side: Side,
        space: Space,
    },
    ScanStarted {
        scan: u64,
        label: String,
    },
    Scanning {
        scan: u64,
        counts: ScanCounts,
    },
    ScanDone {
        scan: u64,
        queued: usize,
        unchanged: usize,
        problems: Vec<String>,
        /// Files whose destination exists and differs: held until the user decides.
        conflicts: Vec<String>,
    },
    ScanFailed {
        scan: u64,
        message: String,
    },
    Transfer(EngineEvent),
    /// An operation finished: say so, and refresh the panes on `sides`.
    Done {
        sides: Vec<Side>,
        message: String,
    },
    /// An operation failed; `sides` are refreshed, since part of it may have happened.
    Failed {
        sides: Vec<Side>,
        message: String,
    },
    /// The local trash refused these; ask before deleting them for good.
    NoTrash {
        entries: Vec<Entry>,
        reason: String,
    },
    Info {
        title: String,
        lines: Vec<String>,
    },
    /// The Drive's root folder id (the root pane's place has no crumb to name it).
    DriveRoot(String),
    /// Something changed on the Drive (seen on the changes feed): the nodes and folders
    /// it touched.
    DriveChanged(Vec<String>),
    /// An earlier session left this many transfers unfinished.
    Unfinished(usize),
    Connected {
        remote: String,
    },
    /// The remote's token was refused: re-authorize it (its settings, token empty).
    NeedsAuth {
        remote: NewRemote,
        message: String,
    },
    /// The wizard's authorize address is ready.
    AuthUrl {
        url: String,
        redirect: String,
        listening: String,
        browser_opened: bool,
    },
    /// A paste or a save the wizard cannot use, with why.
    WizardProblem(String),
    /// The wizard's authorization ended: the token JSON, or why not.
    Authorized(Result<String, String>),
    RemoteSaved {
        name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Overwrite,
    KeepBoth,
    Skip,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    /// Files of a copy would replace different ones: one answer for all of them.
    Conflicts { scan: u64, names: Vec<String> },
    Confirm {
        title: String,
        lines: Vec<String>,
        on_yes: Confirmed,
    },
    Input {
        title: String,
        text: String,
        purpose: InputFor,
    },
    /// Read-only text (info, the log view); any key closes it.
    Text { title: String, lines: Vec<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Confirmed {
    Trash { side: Side, entries: Vec<Entry> },
    Move { i: usize },
    DeleteForGood { entries: Vec<Entry> },
    Quit,
    Resume,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InputFor {
    Mkdir,
    Rename(Key),
    Filter,
    Select(bool),
}
