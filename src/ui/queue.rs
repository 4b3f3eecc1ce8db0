//! The transfer queue panel: totals on the border, scans still walking, then one row per
//! job with its direction, name, a progress bar, rate, ETA and its state in words.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::Theme;
use super::pane::border_line;
use super::text::{duration, fit, pad, pad_left, printable, size};
use crate::app::queue::JobRow;
use crate::app::{App, Focus, layout};
use crate::transfer::TransferState;
use crate::transfer::state::Phase;
use unicode_width::UnicodeWidthStr;

fn state_style(state: &TransferState, theme: Theme) -> Style {
    match state {
        TransferState::Done => theme.fg(Color::Green),
        TransferState::Failed { .. } => theme.error(),
        TransferState::Skipped { .. } | TransferState::Cancelled => theme.dim(),
        TransferState::Active(Phase::Retrying { .. } | Phase::UploadWait { .. }) => {
            theme.fg(Color::Yellow).add_modifier(Modifier::BOLD)
        }
        TransferState::Active(_) => theme.fg(Color::Cyan),
        TransferState::Queued => Style::default(),
    }
}

fn bar(row: &JobRow, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let fraction = if row.state == TransferState::Done {
        1.0
    } else if row.size == 0 {
        0.0
    } else {
        (row.bytes as f64 / row.size as f64).clamp(0.0, 1.0)
    };
    let filled = (fraction * width as f64).round() as usize;
    "█".repeat(filled) + &"·".repeat(width - filled)
}

fn header(app: &App) -> String {
    let q = &app.queue;
    let t = q.totals();
    let mut parts = vec![format!(
        "{}/{} files",
        t.files_done,
        t.files_done + t.files_left
    )];
    parts.push(format!(
        "{} of {}",
        size(t.bytes_done),
        size(t.bytes_done + t.bytes_left)
    ));
    if q.rate > 0.0 {
        parts.push(format!("{}/s", size(q.rate as u64)));
    }
    if let Some(files) = q.files_per_sec(app.now_ms).filter(|_| t.files_left > 0) {
        parts.push(format!("{files:.0} files/s"));
    }
    if let Some(eta) = q.eta_secs(app.now_ms) {
        parts.push(format!("ETA {}", duration(eta)));
    }
    if t.failed > 0 {
        parts.push(format!("{} failed", t.failed));
    }
    parts.push(format!("{} at once", q.concurrency));
    if q.paused {
        parts.push("PAUSED".into());
    }
    parts.join(" · ")
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect, theme: Theme) {
    if area.height == 0 {
        return;
    }
    let q = &app.queue;
    if q.collapsed {
        let line = format!("Queue: {}", header(app));
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(
                fit(&line, area.width as usize),
                theme.dim(),
            ))),
            area,
        );
        return;
    }
    let focused = app.focus == Focus::Queue;
    let border = if focused {
        theme.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    let room = area.width.saturating_sub(2) as usize;
    let totals = header(app);
    // Where both do not fit, the totals matter more than the panel's name.
    let name = if totals.len() + 10 < room {
        "Queue"
    } else {
        ""
    };
    let block = Block::bordered()
        .border_style(border)
        .title_top(border_line(name, &totals, room));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines = Vec::new();
    for scan in &q.scans {
        let c = scan.counts;
        lines.push(Line::from(Span::styled(
            fit(
                &format!(
                    "⋯ scanning {} — {} folders, {} files, {}",
                    printable(&scan.label),
                    c.folders,
                    c.files,
                    size(c.bytes)
                ),
                width,
            ),
            theme.fg(Color::Magenta),
        )));
    }
    let rows = layout::queue_rows(area, q.scans.len());
    if q.rows.is_empty() && q.scans.is_empty() {
        lines.push(Line::from(Span::styled(
            fit(
                "No transfers. Select files and press F5 (or c) to copy them to the other pane.",
                width,
            ),
            theme.dim(),
        )));
    }
    let now = app.now();
    // Unfocused, the panel follows the work: finished rows scroll away above what runs.
    let first = if focused {
        q.offset
    } else {
        let running = q.rows.iter().position(|r| !r.state.is_final());
        running
            .unwrap_or(q.rows.len())
            .min(q.rows.len().saturating_sub(rows))
    };
    let shown = || q.rows.iter().enumerate().skip(first).take(rows);
    // Narrow: arrow, name, bar, rate, state. Wide: the ETA too, and long names may take a
    // quarter of the width beyond 120; the rest stays for the state in words.
    let wide = width >= 120;
    let (name_w, bar_w, rate_w, eta_w) = if wide {
        let longest = shown().map(|(_, r)| printable(&r.label).width());
        let names = longest.max().unwrap_or(0).clamp(36, 36 + (width - 120) / 4);
        (names, 20, 11, 8)
    } else if width >= 60 {
        (18, 8, 11, 0)
    } else {
        (12, 0, 0, 0)
    };
    for (i, row) in shown() {
        let arrow = if row.upload { "↑" } else { "↓" };
        let mut text = format!("{arrow} {}", pad(&printable(&row.label), name_w));
        if bar_w > 0 {
            text += &format!(" {}", bar(row, bar_w));
        }
        if rate_w > 0 {
            let rate = if row.rate > 0.0 && row.state.is_active() {
                format!("{}/s", size(row.rate as u64))
            } else if row.state == TransferState::Queued || row.state.is_final() {
                size(row.size)
            } else {
                String::new()
            };
            text += &format!(" {}", pad_left(&rate, rate_w));
        }
        if eta_w > 0 {
            let eta = row.eta_secs().map(duration).unwrap_or_default();
            text += &format!(" {}", pad_left(&eta, eta_w));
        }
        let mut state = row.state.describe(now);
        if row.priority != 0 {
            state = format!("[{:+}] {state}", row.priority);
        }
        let room = width.saturating_sub(text.width() + 1);
        let mut style = state_style(&row.state, theme);
        if focused && i == q.cursor {
            style = style.patch(theme.cursor());
        }
        lines.push(Line::from(vec![
            Span::styled(
                text,
                if focused && i == q.cursor {
                    theme.cursor()
                } else {
                    Style::default()
                },
            ),
            Span::raw(" "),
            Span::styled(fit(&printable(&state), room), style),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
