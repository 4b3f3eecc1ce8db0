//! The help screen's content, derived from the keymap as bound now: built here so that
//! scrolling knows where it ends, drawn by `ui`.

use super::App;
use super::keymap::Mode;

#[derive(Debug, Clone, PartialEq)]
pub enum HelpLine {
    Heading(&'static str),
    Binding { keys: String, what: &'static str },
    Blank,
    Note(String),
}

pub fn lines(app: &App) -> Vec<HelpLine> {
    let mut lines = Vec::new();
    for mode in Mode::ALL {
        lines.push(HelpLine::Heading(match mode {
            Mode::Panes => "Panes",
            Mode::Trash => "Trash view",
            Mode::Queue => "Queue",
            Mode::Confirm => "Questions",
            Mode::Input => "Typing a name",
            Mode::Help => "This screen",
            Mode::Wizard => "Setup wizard",
            Mode::Conflict => "Files already at the destination",
        }));
        for (action, keys) in app.keymap.bindings(mode) {
            let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            lines.push(HelpLine::Binding {
                keys: keys.join(" "),
                what: action.describe(),
            });
        }
        lines.push(HelpLine::Blank);
    }
    lines.push(HelpLine::Note(
        "Esc then a digit is that F-key (Esc 5 = F5), for terminals that lose F-keys.".into(),
    ));
    lines.push(HelpLine::Note(
        "Mouse: click to focus and point, click again to open, right click selects.".into(),
    ));
    lines.push(HelpLine::Note(
        "Keys are set in keymap.toml in acdc's config folder.".into(),
    ));
    lines.push(HelpLine::Note(format!("Log: {}", app.log_path)));
    lines
}

/// Rows the help screen shows at once: the whole screen less its border.
pub fn rows(app: &App) -> usize {
    app.screen.height.saturating_sub(2).max(1) as usize
}

/// The first line shown when scrolled as far down as it goes.
pub fn last_offset(app: &App) -> usize {
    lines(app).len().saturating_sub(rows(app))
}
