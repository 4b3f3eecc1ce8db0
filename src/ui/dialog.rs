//! Modal boxes drawn over the panes: confirm, text input, read-only text (info, the log),
//! and the help screen, which lists every key bound in every mode.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use unicode_width::UnicodeWidthStr;

use super::Theme;
use super::text::{fit, pad, printable};
use crate::app::help::{self, HelpLine};
use crate::app::keymap::{Action, Mode};
use crate::app::{App, Dialog};

fn centered(screen: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(screen.width);
    let h = height.min(screen.height);
    Rect::new(
        screen.x + (screen.width - w) / 2,
        screen.y + (screen.height - h) / 2,
        w,
        h,
    )
}

/// "y/Enter yes · n/Esc no", from the keys actually bound.
fn keys_line(app: &App, mode: Mode, actions: &[Action]) -> String {
    actions
        .iter()
        .filter_map(|&a| {
            let keys = app.keymap.keys(mode, a);
            (!keys.is_empty()).then(|| {
                let k: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                format!("{} {}", k.join("/"), a.describe())
            })
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The footer in lines of at most `width`, broken between its choices, never inside one
/// (a choice cut off is a key the user cannot see).
fn footer_lines(footer: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for part in footer.split(" · ") {
        match lines.last_mut() {
            Some(line) if line.width() + 3 + part.width() <= width => {
                line.push_str(" · ");
                line.push_str(part);
            }
            _ => lines.push(fit(part, width)),
        }
    }
    lines
}

pub fn draw(frame: &mut Frame, app: &App, dialog: &Dialog, theme: Theme) {
    let screen = frame.area();
    let width = screen.width.saturating_sub(4).clamp(20, 72);
    let inner_w = width.saturating_sub(4) as usize;
    let (title, mut lines, footer) = match dialog {
        Dialog::Confirm { title, lines, .. } => (
            title.clone(),
            lines
                .iter()
                .map(|l| Line::from(printable(l)))
                .collect::<Vec<_>>(),
            keys_line(app, Mode::Confirm, &[Action::Yes, Action::No]),
        ),
        Dialog::Input { title, text, .. } => {
            // The end of what is typed stays in view, with a block for the cursor.
            let shown = super::text::fit_left(&printable(text), inner_w.saturating_sub(1));
            (
                title.clone(),
                vec![Line::from(vec![Span::styled(
                    pad(&format!("{shown}█"), inner_w),
                    theme
                        .cursor()
                        .remove_modifier(Modifier::REVERSED)
                        .add_modifier(Modifier::UNDERLINED),
                )])],
                keys_line(app, Mode::Input, &[Action::Accept, Action::Cancel]),
            )
        }
        Dialog::Conflicts { names, .. } => {
            let what = match names.len() {
                1 => "1 file is".to_string(),
                n => format!("{n} files are"),
            };
            let mut lines = vec![Line::from(format!(
                "{what} at the destination already, and different:"
            ))];
            for name in names.iter().take(5) {
                lines.push(Line::from(format!(
                    "  {}",
                    fit(&printable(name), inner_w.saturating_sub(2))
                )));
            }
            if names.len() > 5 {
                lines.push(Line::from(format!("  … and {} more", names.len() - 5)));
            }
            (
                "Already there".to_string(),
                lines,
                keys_line(
                    app,
                    Mode::Conflict,
                    &[Action::Overwrite, Action::KeepBoth, Action::Skip],
                ),
            )
        }
        Dialog::Text { title, lines } => (
            title.clone(),
            lines.iter().map(|l| Line::from(printable(l))).collect(),
            "any key closes".to_string(),
        ),
    };
    lines.push(Line::default());
    for line in footer_lines(&footer, inner_w) {
        lines.push(Line::from(Span::styled(line, theme.dim())));
    }
    let height = (lines.len() as u16 + 2).min(screen.height);
    let area = centered(screen, width, height);
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .title_top(Line::from(format!(
            " {} ",
            fit(&printable(&title), inner_w)
        )))
        .border_style(theme.fg(ratatui::style::Color::Yellow));
    let inner = block.inner(area).inner(ratatui::layout::Margin::new(1, 0));
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

pub fn help(frame: &mut Frame, app: &App, theme: Theme) {
    let screen = frame.area();
    let area = centered(
        screen,
        screen.width.saturating_sub(2).min(100),
        screen.height,
    );
    frame.render_widget(Clear, area);
    let content = help::lines(app);
    // As wide as the longest key list (a user's keymap may bind many), and a gap.
    let key_w = content
        .iter()
        .map(|line| match line {
            HelpLine::Binding { keys, .. } => keys.width() + 3,
            _ => 0,
        })
        .max()
        .unwrap_or(0)
        .max(20);
    let lines: Vec<Line> = content
        .into_iter()
        .map(|line| match line {
            HelpLine::Heading(title) => Line::from(Span::styled(title, theme.folder())),
            HelpLine::Binding { keys, what } => Line::from(vec![
                Span::styled(pad(&format!("  {keys}"), key_w), theme.selected()),
                Span::raw(what),
            ]),
            HelpLine::Blank => Line::default(),
            HelpLine::Note(text) => Line::from(text),
        })
        .collect();
    let shown = help::rows(app);
    let first = app.help.unwrap_or(0).min(help::last_offset(app));
    let mut block = Block::bordered().title_top(Line::from(" Help — every key, as bound now "));
    if lines.len() > shown {
        let last = (first + shown).min(lines.len());
        block = block.title_bottom(
            Line::from(format!(
                " lines {}–{last} of {} · j/k, PgUp/PgDn to scroll ",
                first + 1,
                lines.len()
            ))
            .right_aligned(),
        );
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines).scroll((first as u16, 0)), inner);
}

#[cfg(test)]
mod tests {
    use super::footer_lines;

    #[test]
    fn a_footer_breaks_between_choices() {
        let footer =
            "o replace them · k/Enter keep both (the copy gets a number) · s/Esc skip them";
        assert_eq!(footer_lines(footer, 80), vec![footer.to_string()]);
        assert_eq!(
            footer_lines(footer, 68),
            vec![
                "o replace them · k/Enter keep both (the copy gets a number)",
                "s/Esc skip them"
            ]
        );
        assert_eq!(footer_lines("y yes", 3), vec!["y …".to_string()]);
    }
}
