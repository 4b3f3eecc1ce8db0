//! The TUI's state machine. Pure: keys, mouse, resizes, ticks and backend events come in as
//! `Msg`s; `update` changes the state and returns the `Request`s the backend is to run. No
//! I/O, no clock (time arrives in `Msg::Tick`), no terminal.

pub mod help;
pub mod keymap;
pub mod layout;
mod message;
pub mod pane;
pub mod queue;
pub mod wizard;

use std::time::{Duration, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use crate::config::NewRemote;
use crate::transfer::Event as EngineEvent;
use crate::transfer::plan::ScanCounts;
// Sizes read the same in dialogs as in the panes.
use crate::ui::text::{count, size as size_text};
use keymap::{Action, Keymap, Mode};
pub use message::*;
use pane::{Pane, Place, Side};
use queue::{Queue, ScanRow};
use wizard::{Step, Wizard, WizardRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Left,
    Right,
    Queue,
}

/// How often finishing downloads may refresh the local pane.
const LOCAL_REFRESH_MS: u64 = 2_000;

/// Recent errors kept for the log view.
const LOG_LINES: usize = 200;

pub struct App {
    /// Left is local, right is the Drive.
    pub panes: [Pane; 2],
    pub focus: Focus,
    /// The pane focused before the queue took focus.
    pub last_pane: usize,
    pub queue: Queue,
    pub dialog: Option<Dialog>,
    pub help: Option<usize>,
    pub keymap: Keymap,
    pub remote: String,
    pub status: String,
    pub errors: Vec<String>,
    pub log_path: String,
    pub screen: Rect,
    pub now_ms: u64,
    /// Colours on (off with NO_COLOR or a monochrome terminal).
    pub color: bool,
    /// The local time zone's offset from UTC in seconds, for dates.
    pub utc_offset: i32,
    pub quit: bool,
    pub drive_root: Option<String>,
    /// The Drive pane's remote answered; until then it shows nothing.
    pub connected: bool,
    /// When finished downloads last refreshed the local pane.
    local_refreshed_ms: u64,
    pub wizard: Option<Wizard>,
    /// What a new remote's wizard starts with (the demo fills in acd-emu's addresses).
    pub wizard_defaults: NewRemote,
    /// Remote names in the config, which a new one may not take.
    pub remotes: Vec<String>,
    /// Esc was pressed: a digit next acts as that F-key (mc's way round lost F-keys).
    esc_pending: bool,
    next_id: u64,
}

impl App {
    pub fn new(remote: &str, local: Place, keymap: Keymap, concurrency: usize) -> App {
        App {
            panes: [
                Pane::new(Side::Local, local),
                Pane::new(Side::Drive, Place::Drive(Vec::new())),
            ],
            focus: Focus::Left,
            last_pane: 0,
            queue: Queue::new(concurrency),
            dialog: None,
            help: None,
            keymap,
            remote: remote.to_string(),
            status: String::new(),
            errors: Vec::new(),
            log_path: String::new(),
            screen: Rect::new(0, 0, 80, 24),
            now_ms: 0,
            color: true,
            utc_offset: 0,
            quit: false,
            drive_root: None,
            connected: false,
            local_refreshed_ms: 0,
            wizard: None,
            wizard_defaults: wizard::amazon_defaults(),
            remotes: Vec::new(),
            esc_pending: false,
            next_id: 1,
        }
    }

    /// The first requests: the local pane listed, the remote connected (the Drive pane
    /// lists once it is), unless the wizard is to make one first.
    pub fn start(&mut self) -> Vec<Request> {
        let mut out = self.reload(0);
        if self.wizard.is_none() {
            out.push(Request::Connect {
                remote: self.remote.clone(),
            });
        }
        out
    }

    /// Opens the wizard for a new remote.
    pub fn open_wizard(&mut self) {
        self.wizard = Some(Wizard::new(
            self.wizard_defaults.clone(),
            self.remotes.clone(),
        ));
    }

    pub fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.now_ms)
    }

    pub fn mode(&self) -> Mode {
        if self.wizard.is_some() {
            return Mode::Wizard;
        }
        match (&self.dialog, self.help, self.focus) {
            (Some(Dialog::Confirm { .. }), _, _) => Mode::Confirm,
            (Some(Dialog::Conflicts { .. }), _, _) => Mode::Conflict,
            (Some(Dialog::Input { .. }), _, _) => Mode::Input,
            (Some(Dialog::Text { .. }), _, _) | (None, Some(_), _) => Mode::Help,
            (None, None, Focus::Queue) => Mode::Queue,
            (None, None, _) if self.pane().in_trash() => Mode::Trash,
            _ => Mode::Panes,
        }
    }

    pub fn pane_index(&self) -> usize {
        match self.focus {
            Focus::Left => 0,
            Focus::Right => 1,
            Focus::Queue => self.last_pane,
        }
    }

    pub fn pane(&self) -> &Pane {
        &self.panes[self.pane_index()]
    }

    fn pane_mut(&mut self) -> &mut Pane {
        let i = self.pane_index();
        &mut self.panes[i]
    }

    fn areas(&self) -> layout::Areas {
        layout::areas(self.screen, &self.queue)
    }

    fn rows(&self, pane: usize) -> usize {
        let a = self.areas();
        layout::pane_rows(if pane == 0 { a.left } else { a.right })
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn report(&mut self, message: String) {
        self.status = message.clone();
        self.errors.push(message);
        if self.errors.len() > LOG_LINES {
            self.errors.remove(0);
        }
    }

    /// Lists pane `i` again where it is (and asks for its free space).
    /// Lists pane `i` again; `fresh` when it moved to another place (the old entries go
    /// at once), else a refresh that keeps them on screen until the new ones come.
    fn list(&mut self, i: usize, fresh: bool) -> Vec<Request> {
        let listing = self.id();
        let pane = &mut self.panes[i];
        if fresh {
            pane.begin_listing(listing);
        } else {
            pane.begin_refresh(listing);
        }
        let mut out = vec![Request::List {
            side: pane.side,
            listing,
            place: pane.place.clone(),
        }];
        if !pane.in_trash() {
            out.push(Request::Space {
                side: pane.side,
                place: pane.place.clone(),
            });
        }
        out
    }

    fn reload(&mut self, i: usize) -> Vec<Request> {
        self.list(i, false)
    }

    fn go(&mut self, i: usize, place: Place, remember: Option<String>) -> Vec<Request> {
        let pane = &mut self.panes[i];
        pane.place = place;
        pane.clear_selection();
        pane.filter.clear();
        pane.cursor = 0;
        pane.remember = remember;
        self.list(i, true)
    }

    fn reload_side(&mut self, side: Side) -> Vec<Request> {
        let shown: Vec<usize> = (0..2).filter(|&i| self.panes[i].side == side).collect();
        shown.into_iter().flat_map(|i| self.reload(i)).collect()
    }
}

/// The heart of the TUI: one message in, the state changed, the requests out.
pub fn update(app: &mut App, msg: Msg) -> Vec<Request> {
    match msg {
        Msg::Tick(now_ms) => {
            app.now_ms = now_ms;
            Vec::new()
        }
        Msg::Resize(w, h) => {
            app.screen = Rect::new(0, 0, w, h);
            for i in 0..2 {
                let rows = app.rows(i);
                app.panes[i].scroll_to_cursor(rows);
            }
            Vec::new()
        }
        Msg::Key(key) => on_key(app, key),
        Msg::Paste(text) => {
            if let Some(w) = app.wizard.as_mut().filter(|w| w.typing()) {
                w.input.extend(text.chars().filter(|c| !c.is_control()));
            } else if let Some(Dialog::Input { text: field, .. }) = &mut app.dialog {
                field.extend(text.chars().filter(|c| !c.is_control()));
            }
            live_filter(app);
            Vec::new()
        }
        Msg::Mouse(mouse) => on_mouse(app, mouse),
        Msg::Backend(event) => on_event(app, event),
    }
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Request> {
    let Some(mut k) = keymap::Key::from_event(&key) else {
        return Vec::new();
    };
    let mode = app.mode();
    if mode == Mode::Input {
        return on_input_key(app, key, k);
    }
    if mode == Mode::Wizard {
        return on_wizard_key(app, key, k);
    }
    // mc's convention: Esc then 1..0 is F1..F10 where a terminal loses the F-keys.
    if app.esc_pending {
        app.esc_pending = false;
        if let keymap::KeyCodeOrd::Char(c @ '0'..='9') = k.code {
            let n = c.to_digit(10).unwrap_or(0) as u8;
            k = keymap::Key::f(if n == 0 { 10 } else { n });
        }
    } else if key.code == KeyCode::Esc
        && matches!(mode, Mode::Panes | Mode::Queue | Mode::Trash)
        && app
            .keymap
            .action(mode, &k)
            .is_none_or(|a| a == Action::Back)
    {
        app.esc_pending = true;
        if app.keymap.action(mode, &k).is_none() {
            return Vec::new();
        }
    }
    if let Some(Dialog::Text { .. }) = app.dialog {
        app.dialog = None;
        return Vec::new();
    }
    let Some(action) = app.keymap.action(mode, &k) else {
        return Vec::new();
    };
    match mode {
        Mode::Confirm => on_confirm(app, action),
        Mode::Conflict => {
            let Some(Dialog::Conflicts { scan, .. }) = app.dialog.take() else {
                return Vec::new();
            };
            let resolution = match action {
                Action::Overwrite => Resolution::Overwrite,
                Action::KeepBoth => Resolution::KeepBoth,
                _ => Resolution::Skip,
            };
            vec![Request::Resolve { scan, resolution }]
        }
        Mode::Help => {
            let Some(at) = app.help else {
                return Vec::new();
            };
            let (page, last) = (
                help::rows(app).saturating_sub(1).max(1),
                help::last_offset(app),
            );
            app.help = match action {
                Action::Up => Some(at.saturating_sub(1)),
                Action::Down => Some((at + 1).min(last)),
                Action::PageUp => Some(at.saturating_sub(page)),
                Action::PageDown => Some((at + page).min(last)),
                Action::Home => Some(0),
                Action::End => Some(last),
                _ => None,
            };
            Vec::new()
        }
        Mode::Queue => on_queue_action(app, action),
        Mode::Panes | Mode::Trash => on_pane_action(app, action),
        Mode::Input | Mode::Wizard => Vec::new(),
    }
}

fn on_input_key(app: &mut App, key: KeyEvent, k: keymap::Key) -> Vec<Request> {
    let action = app.keymap.action(Mode::Input, &k);
    let Some(Dialog::Input { text, purpose, .. }) = &mut app.dialog else {
        return Vec::new();
    };
    match (action, key.code) {
        (Some(Action::Accept), _) => {
            let text = text.trim().to_string();
            let purpose = purpose.clone();
            app.dialog = None;
            return accept_input(app, purpose, text);
        }
        (Some(Action::Cancel), _) => {
            if *purpose == InputFor::Filter {
                app.pane_mut().set_filter("");
            }
            app.dialog = None;
            return Vec::new();
        }
        (_, KeyCode::Backspace) => {
            text.pop();
        }
        (_, KeyCode::Char('u')) if key.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
        (_, KeyCode::Char(c)) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
        _ => {}
    }
    live_filter(app);
    Vec::new()
}

fn on_wizard_key(app: &mut App, key: KeyEvent, k: keymap::Key) -> Vec<Request> {
    let action = app.keymap.action(Mode::Wizard, &k);
    let Some(w) = app.wizard.as_mut() else {
        return Vec::new();
    };
    let request = match (action, key.code) {
        (Some(Action::Accept), _) => w.advance(),
        (Some(Action::Cancel), _) => match w.back() {
            Some(cancel) => cancel,
            None => {
                // Back past the first step: the wizard closes; with no remote to show,
                // that is the end.
                app.wizard = None;
                if !app.connected {
                    app.quit = true;
                    return vec![Request::Wizard(WizardRequest::Cancel), Request::Quit];
                }
                return vec![Request::Wizard(WizardRequest::Cancel)];
            }
        },
        (Some(Action::Up | Action::Down), _) if w.step == Step::Method => {
            w.method = match w.method {
                wizard::Method::Browser => wizard::Method::Headless,
                wizard::Method::Headless => wizard::Method::Browser,
            };
            None
        }
        _ if !w.typing() => None,
        (_, KeyCode::Backspace) => {
            w.input.pop();
            None
        }
        (_, KeyCode::Char('u')) if key.modifiers.contains(KeyModifiers::CONTROL) => {
            w.input.clear();
            None
        }
        (_, KeyCode::Char(c)) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            w.input.push(c);
            None
        }
        _ => None,
    };
    request.map(Request::Wizard).into_iter().collect()
}

/// Filtering is as you type: every keystroke in the filter field re-filters the pane.
fn live_filter(app: &mut App) {
    if let Some(Dialog::Input {
        text,
        purpose: InputFor::Filter,
        ..
    }) = &app.dialog
    {
        let text = text.clone();
        let rows = app.rows(app.pane_index());
        let pane = app.pane_mut();
        pane.set_filter(&text);
        pane.scroll_to_cursor(rows);
    }
}

/// Why a name typed by the user cannot be a file or folder name.
fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("a name cannot be empty".into())
    } else if name == "." || name == ".." {
        Some(format!("{name:?} cannot be a name"))
    } else if name.contains('/') {
        Some(format!("{name:?}: a name cannot contain '/'"))
    } else {
        None
    }
}

fn accept_input(app: &mut App, purpose: InputFor, text: String) -> Vec<Request> {
    let side = app.pane().side;
    match purpose {
        InputFor::Filter => Vec::new(),
        InputFor::Select(select) => {
            let result = app.pane_mut().select_glob(&text, select);
            match result {
                Ok(n) => app.status = format!("{n} matched {text:?}"),
                Err(e) => app.report(e),
            }
            Vec::new()
        }
        InputFor::Mkdir | InputFor::Rename(_) => {
            if let Some(problem) = name_problem(&text) {
                app.report(problem);
                return Vec::new();
            }
            if let InputFor::Rename(key) = purpose {
                return vec![Request::Rename {
                    side,
                    key,
                    name: text,
                }];
            }
            app.pane_mut().remember = Some(text.clone());
            vec![Request::Mkdir {
                side,
                parent: app.pane().place.clone(),
                name: text,
            }]
        }
    }
}

fn on_confirm(app: &mut App, action: Action) -> Vec<Request> {
    let Some(Dialog::Confirm { on_yes, .. }) = app.dialog.take() else {
        return Vec::new();
    };
    if action != Action::Yes {
        return Vec::new();
    }
    match on_yes {
        Confirmed::Trash { side, entries } => {
            for pane in &mut app.panes {
                pane.clear_selection();
            }
            vec![Request::Trash { side, entries }]
        }
        Confirmed::DeleteForGood { entries } => vec![Request::DeleteForGood { entries }],
        Confirmed::Move { i } => copy(app, i, true),
        Confirmed::Resume => vec![Request::Queue(QueueCommand::ResumeUnfinished)],
        Confirmed::Quit => {
            app.quit = true;
            vec![Request::Quit]
        }
    }
}

fn ask_quit(app: &mut App) -> Vec<Request> {
    if app.queue.busy() {
        let t = app.queue.totals();
        app.dialog = Some(Dialog::Confirm {
            title: "Quit".into(),
            lines: vec![
                format!(
                    "{} transfers ({}) are not finished.",
                    t.files_left,
                    size_text(t.bytes_left)
                ),
                "They stay in the queue's journal and are offered again at the next start.".into(),
                "Quit now?".into(),
            ],
            on_yes: Confirmed::Quit,
        });
        Vec::new()
    } else {
        app.quit = true;
        vec![Request::Quit]
    }
}

fn on_pane_action(app: &mut App, action: Action) -> Vec<Request> {
    let i = app.pane_index();
    let rows = app.rows(i);
    let page = rows.max(1) as isize;
    match action {
        Action::SwitchPane => {
            app.focus = if i == 0 { Focus::Right } else { Focus::Left };
            app.last_pane = 1 - i;
        }
        Action::Up => app.panes[i].move_cursor(-1, rows),
        Action::Down => app.panes[i].move_cursor(1, rows),
        Action::PageUp => app.panes[i].move_cursor(-page, rows),
        Action::PageDown => app.panes[i].move_cursor(page, rows),
        Action::Home => app.panes[i].move_cursor(isize::MIN / 2, rows),
        Action::End => app.panes[i].move_cursor(isize::MAX / 2, rows),
        Action::Open => {
            let pane = &app.panes[i];
            if let Some(place) = pane.cursor_entry().and_then(|e| pane.child(e)) {
                return app.go(i, place, None);
            }
        }
        Action::Parent => {
            if let Some((place, name)) = app.panes[i].parent() {
                return app.go(i, place, Some(name));
            }
        }
        Action::Select => {
            app.panes[i].toggle_select();
            app.panes[i].move_cursor(1, rows);
        }
        Action::Invert => app.panes[i].invert_selection(),
        Action::SelectGlob | Action::UnselectGlob => {
            let select = action == Action::SelectGlob;
            app.dialog = Some(Dialog::Input {
                title: if select {
                    "Select (pattern)"
                } else {
                    "Unselect (pattern)"
                }
                .into(),
                text: "*".into(),
                purpose: InputFor::Select(select),
            });
        }
        Action::Filter => {
            app.dialog = Some(Dialog::Input {
                title: "Filter".into(),
                text: app.panes[i].filter.clone(),
                purpose: InputFor::Filter,
            });
        }
        Action::Sort => {
            let next = app.panes[i].sort.next();
            app.panes[i].set_sort(next);
            app.panes[i].scroll_to_cursor(rows);
            app.status = format!("sorted by {}", next.label());
        }
        Action::Refresh => return app.reload(i),
        Action::Copy => return copy(app, i, false),
        Action::Move => ask_move(app, i),
        Action::Rename => {
            if let Some(entry) = app.panes[i].cursor_entry() {
                app.dialog = Some(Dialog::Input {
                    title: format!("Rename {}", entry.name),
                    text: entry.name.clone(),
                    purpose: InputFor::Rename(entry.key.clone()),
                });
            }
        }
        Action::Mkdir => {
            app.dialog = Some(Dialog::Input {
                title: "New folder".into(),
                text: String::new(),
                purpose: InputFor::Mkdir,
            });
        }
        Action::Delete => ask_trash(app, i),
        Action::TrashView => {
            if app.panes[i].side != Side::Drive {
                // The Drive's trash opens in the Drive pane, wherever the focus was.
                app.focus = Focus::Right;
                app.last_pane = 1;
            }
            let pane = &mut app.panes[1];
            pane.before_trash = Some(pane.place.clone());
            return app.go(1, Place::Trash, None);
        }
        Action::Close => {
            let back = app.panes[i]
                .before_trash
                .take()
                .unwrap_or(Place::Drive(Vec::new()));
            return app.go(i, back, None);
        }
        Action::Restore => {
            let entries = app.panes[i].targets();
            if !entries.is_empty() {
                app.panes[i].clear_selection();
                return vec![Request::Restore { entries }];
            }
        }
        Action::Info => {
            if let Some(entry) = app.panes[i].cursor_entry() {
                return vec![Request::Info {
                    entry: entry.clone(),
                }];
            }
        }
        Action::FocusQueue => {
            app.last_pane = i;
            app.focus = Focus::Queue;
            app.queue.collapsed = false;
        }
        Action::ToggleQueue => app.queue.collapsed = !app.queue.collapsed,
        Action::Log => {
            let mut lines = vec![format!("log file: {}", app.log_path), String::new()];
            if app.errors.is_empty() {
                lines.push("no errors so far".into());
            }
            lines.extend(app.errors.iter().rev().cloned());
            app.dialog = Some(Dialog::Text {
                title: "Recent errors".into(),
                lines,
            });
        }
        Action::NewRemote => app.open_wizard(),
        Action::Help => app.help = Some(0),
        Action::Quit => return ask_quit(app),
        _ => {}
    }
    Vec::new()
}

/// Why pane `i`'s entries cannot go to the other pane, if they cannot.
fn transfer_problem(app: &App, i: usize) -> Option<String> {
    let target = &app.panes[1 - i];
    if app.panes[i].in_trash() || target.in_trash() {
        Some("restore items from the trash first (u), then copy them".into())
    } else if app.panes[i].side == target.side {
        Some("both panes show the same side: copies go between local and Drive".into())
    } else {
        None
    }
}

fn copy(app: &mut App, i: usize, and_remove: bool) -> Vec<Request> {
    let sources = app.panes[i].targets();
    if sources.is_empty() {
        return Vec::new();
    }
    if let Some(problem) = transfer_problem(app, i) {
        app.report(problem);
        return Vec::new();
    }
    let to = app.panes[1 - i].place.clone();
    let scan = app.id();
    app.panes[i].clear_selection();
    app.queue.collapsed = false;
    vec![Request::Copy {
        scan,
        sources,
        to,
        and_remove,
    }]
}

/// A move is a copy whose originals go to the trash once verified: asked first.
fn ask_move(app: &mut App, i: usize) {
    let entries = app.panes[i].targets();
    if entries.is_empty() {
        return;
    }
    if let Some(problem) = transfer_problem(app, i) {
        app.report(problem);
        return;
    }
    let total: u64 = entries.iter().map(|e| e.size).sum();
    let what = match entries.as_slice() {
        [one] => format!("{:?}", one.name),
        many => count(many.len(), "item"),
    };
    app.dialog = Some(Dialog::Confirm {
        title: "Move".into(),
        lines: vec![
            format!(
                "Move {what} ({}) to {}?",
                size_text(total),
                app.panes[1 - i].title(&app.remote)
            ),
            "Each file is copied and verified (MD5) first; only then does the original go to the trash.".into(),
        ],
        on_yes: Confirmed::Move { i },
    });
}

fn ask_trash(app: &mut App, i: usize) {
    let pane = &app.panes[i];
    if pane.in_trash() {
        app.report("already in the trash; Amazon Drive empties it after 30 days".into());
        return;
    }
    let entries = pane.targets();
    if entries.is_empty() {
        return;
    }
    let total: u64 = entries.iter().map(|e| e.size).sum();
    let folders = entries.iter().filter(|e| e.is_dir).count();
    let what = match entries.as_slice() {
        [one] => format!("{:?}", one.name),
        many => count(many.len(), "item"),
    };
    let mut lines = vec![format!(
        "Move {what} ({}{}) to the trash?",
        size_text(total),
        if folders > 0 {
            format!(", {folders} folders with all they hold")
        } else {
            String::new()
        }
    )];
    lines.push(match pane.side {
        Side::Drive => {
            "Amazon Drive keeps trashed items 30 days; restore them from the trash view (t).".into()
        }
        Side::Local => "They go to the desktop trash.".into(),
    });
    app.dialog = Some(Dialog::Confirm {
        title: "Delete".into(),
        lines,
        on_yes: Confirmed::Trash {
            side: pane.side,
            entries,
        },
    });
}

fn on_queue_action(app: &mut App, action: Action) -> Vec<Request> {
    let rows = layout::queue_rows(app.areas().queue, app.queue.scans.len());
    let q = &mut app.queue;
    let cursor = q.cursor_row().map(|r| (r.id, r.priority));
    match action {
        Action::Up => q.move_cursor(-1, rows),
        Action::Down => q.move_cursor(1, rows),
        Action::Cancel => {
            if let Some(scan) = q.scans.first() {
                return vec![Request::CancelScan(scan.id)];
            }
            if let Some((id, _)) = cursor {
                return vec![Request::Queue(QueueCommand::Cancel(id))];
            }
        }
        Action::CancelAll => {
            let mut out: Vec<Request> = q.scans.iter().map(|s| Request::CancelScan(s.id)).collect();
            out.push(Request::Queue(QueueCommand::CancelAll));
            return out;
        }
        Action::Pause => {
            q.paused = !q.paused;
            return vec![Request::Queue(if q.paused {
                QueueCommand::Pause
            } else {
                QueueCommand::Resume
            })];
        }
        Action::Retry => return vec![Request::Queue(QueueCommand::RetryFailed)],
        Action::PriorityUp | Action::PriorityDown => {
            if let Some((id, p)) = cursor {
                let p = p + if action == Action::PriorityUp { 1 } else { -1 };
                q.set_priority(id, p);
                return vec![Request::Queue(QueueCommand::SetPriority(id, p))];
            }
        }
        Action::MoreTransfers | Action::FewerTransfers => {
            q.concurrency = if action == Action::MoreTransfers {
                (q.concurrency + 1).min(16)
            } else {
                q.concurrency.saturating_sub(1).max(1)
            };
            app.status = format!("{} transfers at once", q.concurrency);
            return vec![Request::Queue(QueueCommand::SetConcurrency(q.concurrency))];
        }
        Action::Grow | Action::Shrink => {
            let now = layout::queue_height(app.screen, q);
            q.height = Some(if action == Action::Grow {
                now + 1
            } else {
                now.saturating_sub(1)
            });
        }
        Action::Back => {
            app.focus = if app.last_pane == 0 {
                Focus::Left
            } else {
                Focus::Right
            }
        }
        Action::Help => app.help = Some(0),
        Action::Quit => return ask_quit(app),
        _ => {}
    }
    Vec::new()
}

fn on_mouse(app: &mut App, mouse: MouseEvent) -> Vec<Request> {
    if app.dialog.is_some() || app.help.is_some() {
        return Vec::new();
    }
    let a = app.areas();
    let at = Position::new(mouse.column, mouse.row);
    let hit = [a.left, a.right].iter().position(|r| r.contains(at));
    match (mouse.kind, hit) {
        (MouseEventKind::Down(button), Some(i)) => {
            let was_focused = app.pane_index() == i && app.focus != Focus::Queue;
            app.focus = if i == 0 { Focus::Left } else { Focus::Right };
            app.last_pane = i;
            let rect = if i == 0 { a.left } else { a.right };
            // Below the top border and the column header.
            let row = mouse.row.saturating_sub(rect.y + 2) as usize;
            let pane = &mut app.panes[i];
            let target = pane.offset + row;
            if mouse.row < rect.y + 2 || target >= pane.view.len() {
                return Vec::new();
            }
            let on_cursor = was_focused && pane.cursor == target;
            pane.cursor = target;
            match button {
                // As in mc: the right button selects (and unselects) without moving on.
                MouseButton::Right => pane.toggle_select(),
                // A click on the entry already under the cursor opens it, as Enter would.
                MouseButton::Left if on_cursor => return on_pane_action(app, Action::Open),
                _ => {}
            }
        }
        (MouseEventKind::Down(_), None) if a.queue.contains(at) => {
            app.last_pane = app.pane_index();
            app.focus = Focus::Queue;
        }
        (MouseEventKind::ScrollDown | MouseEventKind::ScrollUp, Some(i)) => {
            let rows = app.rows(i);
            let delta = if mouse.kind == MouseEventKind::ScrollDown {
                3
            } else {
                -3
            };
            app.panes[i].move_cursor(delta, rows);
        }
        _ => {}
    }
    Vec::new()
}

fn on_event(app: &mut App, event: Event) -> Vec<Request> {
    match event {
        Event::Listing {
            listing,
            entries,
            done,
        } => {
            if let Some(i) = app.panes.iter().position(|p| p.listing == listing) {
                let rows = app.rows(i);
                app.panes[i].add_page(entries, done);
                app.panes[i].scroll_to_cursor(rows);
            }
        }
        Event::ListingFailed { listing, message } => {
            if let Some(i) = app.panes.iter().position(|p| p.listing == listing) {
                app.panes[i].loading = false;
                app.panes[i].error = Some(message.clone());
                app.report(message);
            }
        }
        Event::Space { side, space } => {
            for pane in app.panes.iter_mut().filter(|p| p.side == side) {
                pane.space = Some(space);
            }
        }
        Event::ScanStarted { scan, label } => app.queue.scans.push(ScanRow {
            id: scan,
            label,
            counts: ScanCounts::default(),
        }),
        Event::Scanning { scan, counts } => {
            if let Some(row) = app.queue.scans.iter_mut().find(|s| s.id == scan) {
                row.counts = counts;
            }
        }
        Event::ScanDone {
            scan,
            queued,
            unchanged,
            problems,
            conflicts,
        } => {
            app.queue.scans.retain(|s| s.id != scan);
            let differing = conflicts.len();
            if !conflicts.is_empty() {
                app.dialog = Some(Dialog::Conflicts {
                    scan,
                    names: conflicts,
                });
            }
            let refused = problems.len();
            for p in problems {
                app.report(p);
            }
            app.status = format!(
                "queued {}, {unchanged} already there",
                count(queued, "file")
            );
            if differing > 0 {
                app.status += &format!("; {differing} there and different, held until you choose");
            }
            if refused > 0 {
                app.status += &format!("; {refused} not copied (L shows why)");
            }
        }
        Event::ScanFailed { scan, message } => {
            app.queue.scans.retain(|s| s.id != scan);
            app.report(message);
        }
        Event::Transfer(event) => {
            let finished_download = match &event {
                EngineEvent::State {
                    id,
                    state: crate::transfer::TransferState::Done,
                } => app
                    .queue
                    .rows
                    .iter()
                    .find(|r| r.id == *id)
                    .map(|r| !r.upload),
                _ => None,
            };
            let drained = event == EngineEvent::Drained;
            app.queue.apply(event, app.now_ms);
            // Our own copies show up in the panes as they land.
            if drained {
                return app
                    .reload_side(Side::Drive)
                    .into_iter()
                    .chain(app.reload_side(Side::Local))
                    .collect();
            }
            // Downloads land in the local pane: refresh it, at most every 2 s while they run.
            if finished_download == Some(true)
                && !app.panes[0].loading
                && app.now_ms.saturating_sub(app.local_refreshed_ms) >= LOCAL_REFRESH_MS
            {
                app.local_refreshed_ms = app.now_ms;
                return app.reload_side(Side::Local);
            }
        }
        Event::Done { sides, message } => {
            app.status = message;
            return sides.into_iter().flat_map(|s| app.reload_side(s)).collect();
        }
        Event::Failed { sides, message } => {
            app.report(message);
            return sides.into_iter().flat_map(|s| app.reload_side(s)).collect();
        }
        Event::NoTrash { entries, reason } => {
            let total: u64 = entries.iter().map(|e| e.size).sum();
            app.dialog = Some(Dialog::Confirm {
                title: "Delete for good".into(),
                lines: vec![
                    reason,
                    format!(
                        "Delete {} ({}) permanently? This cannot be undone.",
                        count(entries.len(), "item"),
                        size_text(total)
                    ),
                ],
                on_yes: Confirmed::DeleteForGood { entries },
            });
        }
        Event::Info { title, lines } => app.dialog = Some(Dialog::Text { title, lines }),
        Event::DriveRoot(id) => app.drive_root = Some(id),
        Event::DriveChanged(touched) => {
            let pane = &app.panes[1];
            let shown = match &pane.place {
                Place::Drive(crumbs) => crumbs.last().map(|c| &c.id).or(app.drive_root.as_ref()),
                Place::Trash => None,
                Place::Local(_) => return Vec::new(),
            };
            // The trash view has no folder id: any change may have moved something in or out.
            // A node that left the shown folder names only its new parents, so a change to
            // any entry on show counts too.
            // (A set: a bulk change names thousands, and a pane may show 100,000.)
            let touched: std::collections::HashSet<&str> =
                touched.iter().map(String::as_str).collect();
            let affected = shown.is_none_or(|id| touched.contains(id.as_str()))
                || pane.entries.iter().any(|e| match &e.key {
                    crate::fs::Key::Drive(id) => touched.contains(id.as_str()),
                    crate::fs::Key::Local(_) => false,
                });
            if affected && !pane.loading {
                return app.reload(1);
            }
        }
        Event::Connected { remote } => {
            app.connected = true;
            app.status = format!("connected to {remote}:");
            return app.reload(1);
        }
        Event::NeedsAuth { remote, message } => {
            app.report(message.clone());
            app.wizard = Some(Wizard::reauthorize(remote, message));
        }
        Event::AuthUrl {
            url,
            redirect,
            listening,
            browser_opened,
        } => {
            if let Some(w) = app.wizard.as_mut() {
                w.url = Some(url);
                w.redirect = redirect;
                w.listening = Some(listening);
                w.browser_opened = browser_opened;
            }
        }
        Event::WizardProblem(message) => {
            if let Some(w) = app.wizard.as_mut() {
                w.error = Some(message);
            }
        }
        Event::Authorized(result) => {
            if let Some(w) = app.wizard.as_mut() {
                w.authorized(result);
            }
        }
        Event::RemoteSaved { name } => {
            app.wizard = None;
            if !app.remotes.contains(&name) {
                app.remotes.push(name.clone());
            }
            app.remote = name.clone();
            app.connected = false;
            app.drive_root = None;
            let pane = &mut app.panes[1];
            pane.place = Place::Drive(Vec::new());
            pane.begin_listing(0);
            pane.loading = false;
            return vec![Request::Connect { remote: name }];
        }
        Event::Unfinished(count) => {
            app.dialog = Some(Dialog::Confirm {
                title: "Unfinished transfers".into(),
                lines: vec![
                    format!("An earlier session left {count} transfers unfinished."),
                    "Resume them now? (No keeps them for later.)".into(),
                ],
                on_yes: Confirmed::Resume,
            });
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests;
