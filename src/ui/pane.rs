//! A pane: its place and free space on the border, the columns name | size | modified, the
//! visible rows only, the selection's count and size, and a loading mark while pages come.

use chrono::{DateTime, FixedOffset};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::Theme;
use super::text::{fit, fit_left, pad, pad_left, printable, size};
use crate::app::pane::Side;
use crate::app::{App, Focus, layout};
use crate::fs::Space;
use unicode_width::UnicodeWidthStr;

/// Amazon Drive empties its trash 30 days after an item went in.
pub const TRASH_DAYS: i64 = 30;

struct Columns {
    name: usize,
    size: usize,
    date: usize,
    /// The date format that fits.
    format: &'static str,
}

fn columns(width: usize, trash: bool) -> Columns {
    // One cell for the selection mark, one space between columns.
    let (date, format) = if trash {
        (
            match width {
                60.. => 22,
                30.. => 8,
                _ => 0,
            },
            "",
        )
    } else if width >= 60 {
        (16, "%Y-%m-%d %H:%M")
    } else if width >= 30 {
        // "Dec 02" this half-year, "Jun 2016" before: ls's habit, in 8 cells.
        (8, "short")
    } else {
        (0, "")
    };
    let size = if width >= 20 { 10 } else { 0 };
    let name =
        width.saturating_sub(1 + size + date + usize::from(size > 0) + usize::from(date > 0));
    Columns {
        name,
        size,
        date,
        format,
    }
}

fn date(secs: Option<i64>, now: i64, offset: i32, format: &str) -> String {
    let Some(secs) = secs else {
        return String::new();
    };
    let format = match format {
        "short" if (now - secs).abs() < 180 * 86_400 => "%b %d",
        "short" => "%b %Y",
        long => long,
    };
    let tz = FixedOffset::east_opt(offset).unwrap_or(FixedOffset::east_opt(0).expect("UTC"));
    DateTime::from_timestamp(secs, 0)
        .map(|d| d.with_timezone(&tz).format(format).to_string())
        .unwrap_or_default()
}

/// "trashed 25 days ago, 5 left" (or the short form when narrow).
fn trash_age(trashed: Option<i64>, now: i64, wide: bool) -> String {
    let Some(t) = trashed else {
        return String::new();
    };
    let days = ((now - t).max(0)) / 86_400;
    let left = (TRASH_DAYS - days).max(0);
    if wide {
        format!("{days}d ago, {left}d left")
    } else {
        format!("{left}d left")
    }
}

fn space_text(side: Side, space: Option<Space>) -> String {
    let Some(space) = space else {
        return String::new();
    };
    match (side, space.used, space.total, space.free) {
        (Side::Drive, Some(used), Some(total), _) => {
            format!("{} of {} used", size(used), size(total))
        }
        (_, _, _, Some(free)) => format!("{} free", size(free)),
        _ => String::new(),
    }
}

/// A border's text: `left` and, where both fit, `right` at the far end; never overlapping.
pub fn border_line(left: &str, right: &str, width: usize) -> Line<'static> {
    let left = if left.is_empty() {
        String::new()
    } else {
        format!(" {left} ")
    };
    let right = if right.is_empty() {
        String::new()
    } else {
        format!(" {right} ")
    };
    let (lw, rw) = (left.width(), right.width());
    if lw + rw < width {
        let gap = "─".repeat(width - lw - rw);
        Line::from(format!("{left}{gap}{right}"))
    } else if left.is_empty() {
        Line::from(fit(&right, width))
    } else {
        Line::from(fit(&left, width))
    }
}

pub fn draw(frame: &mut Frame, app: &App, index: usize, area: Rect, theme: Theme) {
    let pane = &app.panes[index];
    let focused = app.focus
        == if index == 0 {
            Focus::Left
        } else {
            Focus::Right
        };
    let inner_w = area.width.saturating_sub(2) as usize;
    let title = fit_left(
        &printable(&pane.title(&app.remote)),
        inner_w.saturating_sub(14).max(1),
    );
    let mut top_right = String::new();
    if pane.loading {
        top_right = format!("loading {}…", pane.entries.len());
    } else if !pane.filter.is_empty() {
        top_right = format!("filter: {}", pane.filter);
    }
    let (count, bytes) = pane.selection_total();
    let bottom_left = if count > 0 {
        format!("{count} selected, {}", size(bytes))
    } else {
        format!("{} items", pane.view.len())
    };
    let border = if focused {
        theme
            .fg(ratatui::style::Color::Cyan)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    let block = Block::bordered()
        .border_style(border)
        .title_top(border_line(&title, &top_right, inner_w))
        .title_bottom(border_line(
            &bottom_left,
            &space_text(pane.side, pane.space),
            inner_w,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let cols = columns(inner.width as usize, pane.in_trash());
    let rows = layout::pane_rows(area);
    let mut lines = Vec::with_capacity(rows + 1);
    let date_head = if pane.in_trash() {
        "in trash"
    } else {
        "modified"
    };
    let mut header = format!(" {}", pad("name", cols.name));
    if cols.size > 0 {
        header += &format!(" {}", pad_left("size", cols.size));
    }
    if cols.date > 0 {
        header += &format!(" {}", pad(date_head, cols.date));
    }
    let mark = match pane.sort {
        crate::app::pane::Sort::Name => "",
        s => s.label(),
    };
    lines.push(Line::from(vec![
        Span::styled(header, theme.dim().add_modifier(Modifier::UNDERLINED)),
        Span::styled(mark.to_string(), theme.dim()),
    ]));
    if let Some(error) = &pane.error {
        lines.push(Line::from(Span::styled(
            pad(&printable(error), inner.width as usize),
            theme.error(),
        )));
    } else if pane.view.is_empty() && !pane.loading {
        lines.push(Line::from(Span::styled(" (empty)", theme.dim())));
    }
    let now = (app.now_ms / 1000) as i64;
    for (row, &i) in pane.view.iter().enumerate().skip(pane.offset).take(rows) {
        let entry = &pane.entries[i];
        let selected = pane.is_selected(&entry.key);
        let name = if entry.is_dir {
            format!("/{}", printable(&entry.name))
        } else {
            printable(&entry.name)
        };
        let mut line = format!(
            "{}{}",
            if selected { '*' } else { ' ' },
            pad(&name, cols.name)
        );
        if cols.size > 0 {
            let s = if entry.is_dir {
                "<dir>".to_string()
            } else {
                size(entry.size)
            };
            line += &format!(" {}", pad_left(&s, cols.size));
        }
        if cols.date > 0 {
            let d = if pane.in_trash() {
                trash_age(entry.modified, now, cols.date > 8)
            } else {
                date(entry.modified, now, app.utc_offset, cols.format)
            };
            line += &format!(" {}", pad(&d, cols.date));
        }
        let mut style = if selected {
            theme.selected()
        } else if entry.is_dir {
            theme.folder()
        } else {
            Style::default()
        };
        if row == pane.cursor && focused {
            style = style.patch(theme.cursor());
        } else if row == pane.cursor {
            style = style.add_modifier(Modifier::UNDERLINED);
        }
        lines.push(Line::from(Span::styled(line, style)));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trash_days_count_down_from_thirty() {
        let day = 86_400;
        assert_eq!(trash_age(Some(0), 25 * day + 5, true), "25d ago, 5d left");
        assert_eq!(trash_age(Some(0), 40 * day, false), "0d left");
    }

    #[test]
    fn columns_share_the_width() {
        for w in [20, 38, 98] {
            for trash in [false, true] {
                let c = columns(w, trash);
                let gaps = usize::from(c.size > 0) + usize::from(c.date > 0);
                let used = 1 + c.name + c.size + c.date + gaps;
                assert_eq!(used, w, "width {w}, trash {trash}");
                assert!(c.name >= 6, "width {w}: name column {}", c.name);
            }
        }
    }
}
