//! The event loop: terminal events, backend events and a tick while something moves go to
//! `app::update`; its requests go to the backend without waiting; the screen is drawn once
//! per batch, only when something changed, at most ~30 times a second.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::app::{self, App, Event, Msg, Request};
use crate::term::TerminalGuard;

const FRAME: Duration = Duration::from_millis(33);
/// How often time moves the screen on (countdowns, rates) while transfers run.
const TICK: Duration = Duration::from_millis(250);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn send_all(requests: &mpsc::UnboundedSender<Request>, out: Vec<Request>) {
    for r in out {
        let _ = requests.send(r);
    }
}

/// Runs the TUI until the user quits or a signal asks it to stop; gives the app back as it
/// ended, for what is to be said once the terminal is the shell's again.
pub async fn run(
    mut app: App,
    requests: mpsc::UnboundedSender<Request>,
    mut events: mpsc::UnboundedReceiver<Event>,
) -> std::io::Result<App> {
    let _guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    let mut input = EventStream::new();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let size = terminal.size()?;
    app::update(&mut app, Msg::Tick(now_ms()));
    app::update(&mut app, Msg::Resize(size.width, size.height));
    let start = app.start();
    send_all(&requests, start);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    loop {
        if app.quit {
            break;
        }
        if dirty && last_draw.elapsed() >= FRAME {
            terminal.draw(|frame| crate::ui::draw(frame, &app))?;
            last_draw = Instant::now();
            dirty = false;
        }
        let moving = app.queue.busy() || app.panes.iter().any(|p| p.loading);
        tokio::select! {
            term = input.next() => {
                let Some(Ok(term)) = term else { break };
                app::update(&mut app, Msg::Tick(now_ms()));
                let msg = match term {
                    TermEvent::Key(key) if key.kind == KeyEventKind::Release => None,
                    TermEvent::Key(key)
                        if key.code == KeyCode::Char('c')
                            && key.modifiers.contains(KeyModifiers::CONTROL) =>
                    {
                        // Ctrl-C leaves at once; the journal keeps the queue for next time.
                        break;
                    }
                    TermEvent::Key(key) => Some(Msg::Key(key)),
                    TermEvent::Mouse(m) => Some(Msg::Mouse(m)),
                    TermEvent::Paste(text) => Some(Msg::Paste(text)),
                    TermEvent::Resize(w, h) => {
                        terminal.autoresize()?;
                        Some(Msg::Resize(w, h))
                    }
                    _ => None,
                };
                if let Some(msg) = msg {
                    let out = app::update(&mut app, msg);
                    send_all(&requests, out);
                    dirty = true;
                }
            }
            event = events.recv() => {
                let Some(event) = event else { break };
                app::update(&mut app, Msg::Tick(now_ms()));
                let out = app::update(&mut app, Msg::Backend(event));
                send_all(&requests, out);
                // Drain what else is waiting, then draw once.
                while let Ok(event) = events.try_recv() {
                    let out = app::update(&mut app, Msg::Backend(event));
                    send_all(&requests, out);
                }
                dirty = true;
            }
            _ = tick.tick(), if moving => {
                app::update(&mut app, Msg::Tick(now_ms()));
                dirty = true;
            }
            _ = tokio::time::sleep_until((last_draw + FRAME).into()), if dirty => {}
            _ = terminate.recv() => break,
            _ = hangup.recv() => break,
        }
    }
    let _ = requests.send(Request::Quit);
    Ok(app)
}
