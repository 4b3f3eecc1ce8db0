//! Drawing only: `draw(frame, &App)` reads the app and never changes it. Every width is
//! measured in cells (ui::text); only the rows on screen are built, so a pane of 100,000
//! entries costs what a pane of 30 does.

mod dialog;
mod pane;
mod queue;
pub mod text;
mod wizard;

use ratatui::Frame;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::keymap::{Action, Mode};
use crate::app::{App, layout};

/// Colours where the terminal has them; with NO_COLOR or a monochrome terminal, only
/// bold, reverse and underline, so every state still shows.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn fg(self, color: Color) -> Style {
        if self.color {
            Style::default().fg(color)
        } else {
            Style::default()
        }
    }

    pub fn cursor(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn folder(self) -> Style {
        self.fg(Color::Blue).add_modifier(Modifier::BOLD)
    }

    pub fn selected(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default().add_modifier(Modifier::DIM)
        }
    }

    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
}

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let theme = Theme { color: app.color };
    if let Some(w) = &app.wizard {
        wizard::draw(frame, app, w, theme);
        return;
    }
    let areas = layout::areas(area, &app.queue);
    for (i, rect) in [areas.left, areas.right].into_iter().enumerate() {
        pane::draw(frame, app, i, rect, theme);
    }
    queue::draw(frame, app, areas.queue, theme);
    let status = if app.status.is_empty() {
        Line::default()
    } else {
        Line::from(Span::raw(text::fit(
            &text::printable(&app.status),
            area.width as usize,
        )))
    };
    frame.render_widget(Paragraph::new(status), areas.status);
    frame.render_widget(
        Paragraph::new(hint_line(app, theme, area.width)),
        areas.hint,
    );
    if app.help.is_some() {
        dialog::help(frame, app, theme);
    }
    if let Some(d) = &app.dialog {
        dialog::draw(frame, app, d, theme);
    }
}

/// The actions worth a hint in each mode, in order; each shows its first bound key.
fn hinted(mode: Mode) -> &'static [Action] {
    match mode {
        // Most needed first: what does not fit at 80 columns is at the end (help has all).
        Mode::Panes => &[
            Action::Copy,
            Action::Move,
            Action::Delete,
            Action::TrashView,
            Action::Filter,
            Action::FocusQueue,
            Action::Help,
            Action::Quit,
            Action::Rename,
            Action::Mkdir,
            Action::Select,
            Action::Sort,
        ],
        Mode::Trash => &[
            Action::Restore,
            Action::Select,
            Action::Close,
            Action::Info,
            Action::Help,
            Action::Quit,
        ],
        Mode::Queue => &[
            Action::Cancel,
            Action::CancelAll,
            Action::Pause,
            Action::Retry,
            Action::PriorityUp,
            Action::PriorityDown,
            Action::MoreTransfers,
            Action::FewerTransfers,
            Action::Back,
        ],
        Mode::Confirm => &[Action::Yes, Action::No],
        Mode::Input => &[Action::Accept, Action::Cancel],
        Mode::Help => &[Action::Close, Action::Up, Action::Down],
        Mode::Wizard => &[Action::Accept, Action::Cancel],
        Mode::Conflict => &[Action::Overwrite, Action::KeepBoth, Action::Skip],
    }
}

/// Short labels for the hint line (help shows the long ones).
fn hint_label(action: Action) -> &'static str {
    match action {
        Action::Copy => "copy",
        Action::Move => "move",
        Action::Rename => "rename",
        Action::Mkdir => "mkdir",
        Action::Delete => "delete",
        Action::TrashView => "trash",
        Action::Select => "select",
        Action::Filter => "filter",
        Action::Sort => "sort",
        Action::FocusQueue => "queue",
        Action::Restore => "restore",
        Action::CancelAll => "cancel all",
        Action::Pause => "pause",
        Action::Retry => "retry",
        Action::PriorityUp => "prio+",
        Action::PriorityDown => "prio-",
        Action::MoreTransfers => "more",
        Action::FewerTransfers => "fewer",
        Action::KeepBoth => "keep both",
        other => other.name(),
    }
}

fn hint_line(app: &App, theme: Theme, width: u16) -> Line<'static> {
    let mode = app.mode();
    let mut spans = Vec::new();
    let mut used = 0usize;
    for &action in hinted(mode) {
        let Some(key) = app.keymap.keys(mode, action).first() else {
            continue;
        };
        let key = key.to_string();
        let label = hint_label(action);
        let cost = key.len() + label.len() + 2;
        if used + cost > width as usize {
            break;
        }
        used += cost;
        spans.push(Span::styled(key, theme.cursor()));
        spans.push(Span::raw(format!(" {label} ")));
    }
    Line::from(spans)
}
