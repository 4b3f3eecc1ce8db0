//! The setup wizard's screen: which step of how many, what the step is for, the field,
//! and while waiting the address to open (as text, and as a QR code where it fits), the
//! SSH forwarding hint and the paste field.

use qrcode::render::unicode::Dense1x2;
use qrcode::{EcLevel, QrCode};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::Theme;
use super::text::{fit, fit_left, printable};
use crate::app::App;
use crate::app::keymap::{Action, Mode};
use crate::app::wizard::{Method, Step, Wizard};
use crate::auth::flow::ssh_forward_hint;

/// `text` cut into lines of `width` cells (an address has no spaces to wrap at).
fn chunks(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width.max(1) {
            lines.push(String::new());
            used = 0;
        }
        used += w;
        if let Some(last) = lines.last_mut() {
            last.push(c);
        }
    }
    lines
}

fn field(text: &str, secret: bool, width: usize, theme: Theme) -> Line<'static> {
    let shown = if secret {
        // Enough to recognise it, not enough to read it over a shoulder.
        let n = text.chars().count();
        let tail: String = text.chars().skip(n.saturating_sub(4)).collect();
        format!("{}{tail}", "•".repeat(n.saturating_sub(4)))
    } else {
        printable(text)
    };
    let shown = fit_left(&shown, width.saturating_sub(4));
    Line::from(vec![
        Span::raw("> "),
        Span::styled(
            format!("{shown}█"),
            theme.selected().remove_modifier(Modifier::BOLD),
        ),
    ])
}

fn keys(app: &App) -> String {
    [Action::Accept, Action::Cancel]
        .iter()
        .filter_map(|&a| {
            let k = app.keymap.keys(Mode::Wizard, a).first()?;
            Some(format!(
                "{k} {}",
                if a == Action::Accept { "next" } else { "back" }
            ))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

pub fn draw(frame: &mut Frame, app: &App, wizard: &Wizard, theme: Theme) {
    let area = frame.area();
    frame.render_widget(Clear, area);
    let what = if wizard.reauthorize {
        format!("Re-authorize {}", wizard.remote.name)
    } else {
        "New Amazon Drive remote".to_string()
    };
    let title = format!(
        " {what} — step {} of {}: {} ",
        wizard.step.number(),
        Step::ALL.len(),
        wizard.step.title()
    );
    let block = Block::bordered()
        .title_top(Line::from(fit(
            &title,
            area.width.saturating_sub(2) as usize,
        )))
        .title_bottom(Line::from(format!(" {} ", keys(app))));
    let inner = block.inner(area).inner(ratatui::layout::Margin::new(1, 0));
    frame.render_widget(block, area);
    // The QR code, for a phone: beside the text where the terminal is wide enough, else
    // below it where it is tall enough, else a word on the size that would show it.
    let mut text_area = inner;
    let mut qr_wanted = None;
    if let Some(url) = wizard.url.as_ref().filter(|_| wizard.step == Step::Waiting)
        && let Some(rows) = qr(url)
    {
        let qr_w = rows.first().map(|r| r.width()).unwrap_or(0) as u16;
        let qr_h = rows.len() as u16 + 1;
        let mut art = vec![Line::from("Or scan it with a phone:")];
        art.extend(rows.into_iter().map(Line::from));
        if inner.width >= WAITING_TEXT_W + qr_w + 2 && inner.height >= qr_h {
            let right = Rect::new(inner.right() - qr_w, inner.y, qr_w, inner.height);
            text_area.width = inner.width - qr_w - 2;
            frame.render_widget(Paragraph::new(art), right);
        } else if inner.width >= qr_w && inner.height >= qr_h + WAITING_TEXT_H {
            let below = Rect::new(inner.x, inner.bottom() - qr_h, qr_w, qr_h);
            text_area.height = inner.height - qr_h;
            frame.render_widget(Paragraph::new(art), below);
        } else {
            // Either layout's terminal size (border and margin: 4 columns, 2 rows).
            qr_wanted = Some((
                (WAITING_TEXT_W + qr_w + 2 + 4, qr_h + 2),
                (qr_w + 4, qr_h + WAITING_TEXT_H + 2),
            ));
        }
    }
    let width = text_area.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    for text in wizard.step.explain() {
        lines.push(Line::from(*text));
    }
    if !wizard.step.explain().is_empty() {
        lines.push(Line::default());
    }
    match wizard.step {
        Step::Name | Step::ClientId | Step::ClientSecret | Step::AuthUrl | Step::TokenUrl => {
            lines.push(field(
                &wizard.input,
                wizard.step == Step::ClientSecret,
                width,
                theme,
            ));
        }
        Step::Method => {
            for (method, label) in [
                (Method::Browser, "A browser on this machine"),
                (
                    Method::Headless,
                    "I'm on SSH / headless: show the address, I paste the answer",
                ),
            ] {
                let on = wizard.method == method;
                let text = format!("{} {label}", if on { "(•)" } else { "( )" });
                lines.push(Line::from(Span::styled(
                    fit(&text, width),
                    if on { theme.cursor() } else { theme.dim() },
                )));
            }
        }
        Step::Waiting => waiting(&mut lines, wizard, width, theme, qr_wanted),
        Step::Outcome => match &wizard.failure {
            Some(why) => {
                lines.push(Line::from(Span::styled(
                    "Authorization failed:",
                    theme.error(),
                )));
                lines.extend(chunks(&printable(why), width).into_iter().map(Line::from));
                lines.push(Line::default());
                lines.push(Line::from(
                    "Enter tries again; Esc goes back to change a setting.",
                ));
            }
            None => {
                lines.push(Line::from(Span::styled(
                    format!(
                        "Authorized: remote {} can use this Amazon Drive.",
                        wizard.remote.name
                    ),
                    theme
                        .fg(ratatui::style::Color::Green)
                        .add_modifier(Modifier::BOLD),
                )));
                lines.push(Line::default());
                lines.push(Line::from(fit(
                    &if wizard.reauthorize {
                        "Enter saves the new token and opens it.".to_string()
                    } else {
                        format!(
                            "Enter writes [{}] to the config file and opens it (rclone can use it too).",
                            wizard.remote.name
                        )
                    },
                    width,
                )));
            }
        },
    }
    if let Some(e) = &wizard.error {
        lines.push(Line::default());
        lines.extend(
            chunks(&printable(e), width)
                .into_iter()
                .map(|l| Line::from(Span::styled(l, theme.error()))),
        );
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text_area);
}

/// The address as a QR code in half-block characters (two modules per cell, low error
/// correction: the smallest code). Terminals are mostly light text on dark, so a dark
/// module is a blank cell and the light ones (and the quiet zone) are drawn.
fn qr(url: &str) -> Option<Vec<String>> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::L).ok()?;
    let art = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    Some(art.lines().map(str::to_string).collect())
}

/// Room the waiting step's text needs beside a QR code, or above one.
const WAITING_TEXT_W: u16 = 70;
const WAITING_TEXT_H: u16 = 14;

fn waiting(
    lines: &mut Vec<Line>,
    wizard: &Wizard,
    width: usize,
    theme: Theme,
    qr_wanted: Option<((u16, u16), (u16, u16))>,
) {
    let Some(url) = &wizard.url else {
        lines.push(Line::from("Preparing the authorization…"));
        return;
    };
    lines.push(Line::from(if wizard.browser_opened {
        "A browser was opened. If it did not show Amazon's page, open this address:"
    } else {
        "Open this address in a browser and allow acdc to use your Amazon Drive:"
    }));
    lines.extend(
        chunks(url, width)
            .into_iter()
            .map(|l| Line::from(Span::styled(l, theme.folder()))),
    );
    lines.push(Line::default());
    if let Some(listening) = &wizard.listening {
        // Whole, wrapped: when listening failed this says why and what to do instead.
        lines.push(Line::from(Span::styled(listening.clone(), theme.dim())));
    }
    lines.push(Line::from(format!(
        "On another machine: forward the port first ({}),",
        ssh_forward_hint(&wizard.redirect)
    )));
    lines.push(Line::from(
        "or paste here where the browser ended (its address, its code, or the token from `acdc authorize`):",
    ));
    lines.push(field(&wizard.input, false, width, theme));
    if let Some(((wide_w, wide_h), (tall_w, tall_h))) = qr_wanted {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            format!(
                "(A terminal of {wide_w}×{wide_h} or {tall_w}×{tall_h} shows this address as a QR \
                 code too, for a phone.)"
            ),
            theme.dim(),
        )));
    }
}
