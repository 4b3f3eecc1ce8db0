//! The screens as drawn into ratatui's TestBackend, at 80×24 (SSH) and 200×50, kept as insta
//! snapshots. The app is brought to each state through update(), as the runtime would.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use acdc::app::keymap::Keymap;
use acdc::app::pane::{Place, Side};
use acdc::app::{App, Event, Msg, update};
use acdc::fs::{Entry, Key, Space};
use acdc::transfer::state::Phase;
use acdc::transfer::{Event as EngineEvent, JobSpec, TransferState};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// 2026-12-03 12:00 UTC, so dates and countdowns never change.
const NOW_MS: u64 = 1_796_299_200_000;
const DAY: i64 = 86_400;

fn now_secs() -> i64 {
    (NOW_MS / 1000) as i64
}

fn entry(name: &str, key: Key, is_dir: bool, size: u64, age_days: i64) -> Entry {
    Entry {
        name: name.into(),
        key,
        is_dir,
        size,
        modified: Some(now_secs() - age_days * DAY),
        md5: None,
    }
}

fn drive(name: &str, size: u64) -> Entry {
    entry(name, Key::Drive(format!("id-{name}")), false, size, 400)
}

fn drive_dir(name: &str) -> Entry {
    entry(name, Key::Drive(format!("id-{name}")), true, 0, 900)
}

fn local(name: &str, size: u64) -> Entry {
    entry(
        name,
        Key::Local(PathBuf::from("/home/ada").join(name)),
        false,
        size,
        3,
    )
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

fn send(app: &mut App, msgs: Vec<Msg>) {
    for m in msgs {
        update(app, m);
    }
}

fn listing(app: &mut App, side: usize, entries: Vec<Entry>) {
    let listing = app.panes[side].listing;
    update(
        app,
        Msg::Backend(Event::Listing {
            listing,
            entries,
            done: true,
        }),
    );
}

/// The demo-like screen: a home folder on the left, the Drive's root on the right.
fn browsing(w: u16, h: u16) -> App {
    let mut app = App::new(
        "acd",
        Place::Local(PathBuf::from("/home/ada")),
        Keymap::default_map(),
        4,
    );
    app.color = false;
    app.log_path = "/home/ada/.local/share/acdc/acdc.log".into();
    send(&mut app, vec![Msg::Tick(NOW_MS), Msg::Resize(w, h)]);
    app.start();
    update(
        &mut app,
        Msg::Backend(Event::Connected {
            remote: "acd".into(),
        }),
    );
    listing(
        &mut app,
        0,
        vec![
            entry(
                "Downloads",
                Key::Local("/home/ada/Downloads".into()),
                true,
                0,
                1,
            ),
            local("thesis-final-v3.pdf", 4_718_592),
            local("notes.md", 2_301),
            local("議事録 2016.txt", 911),
        ],
    );
    listing(
        &mut app,
        1,
        vec![
            drive_dir("Documents"),
            drive_dir("Photos"),
            drive_dir("日本語のフォルダ"),
            drive_dir("Emoji 🎉 party"),
            drive("Welcome to acdc.txt", 377),
            drive("backup-2016.tar.gz", 3_221_225_472),
        ],
    );
    for (side, space) in [
        (
            Side::Local,
            Space {
                free: Some(53 << 30),
                ..Space::default()
            },
        ),
        (
            Side::Drive,
            Space {
                free: Some(70 << 30),
                used: Some(30 << 30),
                total: Some(100 << 30),
            },
        ),
    ] {
        update(&mut app, Msg::Backend(Event::Space { side, space }));
    }
    app
}

fn job(
    app: &mut App,
    id: u64,
    name: &str,
    upload: bool,
    size: u64,
    state: TransferState,
    bytes: u64,
) {
    let spec = if upload {
        JobSpec::Upload {
            local: PathBuf::from("/home/ada").join(name),
            parent: "p".into(),
            name: name.into(),
            size,
        }
    } else {
        JobSpec::Download {
            node: format!("n{id}"),
            name: name.into(),
            size,
            target: PathBuf::from("/home/ada").join(name),
        }
    };
    let moving = state.is_active();
    for e in [
        EngineEvent::Added { id, spec },
        EngineEvent::State { id, state },
    ] {
        update(app, Msg::Backend(Event::Transfer(e)));
    }
    if !moving {
        return;
    }
    // Two progress samples a second apart give the job its rate.
    update(
        app,
        Msg::Backend(Event::Transfer(EngineEvent::Progress {
            jobs: vec![(id, bytes / 2, size)],
            bytes_per_sec: 0.0,
        })),
    );
    update(app, Msg::Tick(NOW_MS + 1000));
    update(
        app,
        Msg::Backend(Event::Transfer(EngineEvent::Progress {
            jobs: vec![(id, bytes, size)],
            bytes_per_sec: 6_291_456.0,
        })),
    );
    update(app, Msg::Tick(NOW_MS));
}

/// A queue holding every state a transfer can be in.
fn busy(w: u16, h: u16) -> App {
    let mut app = browsing(w, h);
    let at =
        |s: u64| SystemTime::UNIX_EPOCH + Duration::from_millis(NOW_MS) + Duration::from_secs(s);
    let states = [
        (
            "IMG_0001.JPG",
            true,
            TransferState::Active(Phase::Hashing),
            0,
        ),
        (
            "holiday.mov",
            true,
            TransferState::Active(Phase::Uploading),
            300 << 20,
        ),
        (
            "backup-2016.tar.gz",
            true,
            TransferState::Active(Phase::UploadWait {
                poll: 3,
                of: 40,
                until: at(161),
            }),
            1 << 30,
        ),
        (
            "Blade Runner 2049 (2017) — Director’s Commentary Edition.iso",
            false,
            TransferState::Active(Phase::TempLink),
            0,
        ),
        (
            "Welcome to acdc.txt",
            false,
            TransferState::Active(Phase::Downloading),
            200,
        ),
        (
            "notes.md",
            false,
            TransferState::Active(Phase::Verifying),
            2301,
        ),
        (
            "song.mp3",
            true,
            TransferState::Active(Phase::Retrying {
                attempt: 2,
                of: 3,
                reason: "429 {\"message\":\"Rate exceeded\"}".into(),
                until: at(4),
            }),
            1 << 20,
        ),
        ("cat.png", true, TransferState::Done, 0),
        (
            "IMG_1.jpg",
            true,
            TransferState::Failed {
                reason: "name differs only in case from Photos/IMG_1.JPG".into(),
            },
            0,
        ),
        (
            "disk.img",
            true,
            TransferState::Skipped {
                reason: "over the 50 GB limit".into(),
            },
            0,
        ),
        ("old.zip", false, TransferState::Cancelled, 0),
        ("queued.txt", true, TransferState::Queued, 0),
    ];
    for (id, (name, upload, state, bytes)) in states.into_iter().enumerate() {
        job(&mut app, id as u64 + 1, name, upload, 2 << 30, state, bytes);
    }
    update(
        &mut app,
        Msg::Backend(Event::ScanStarted {
            scan: 99,
            label: "Photos".into(),
        }),
    );
    update(
        &mut app,
        Msg::Backend(Event::Scanning {
            scan: 99,
            counts: acdc::transfer::plan::ScanCounts {
                folders: 12,
                files: 1_234,
                bytes: 3 << 30,
            },
        }),
    );
    app
}

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("backend");
    terminal.draw(|f| acdc::ui::draw(f, app)).expect("draw");
    format!("{}", terminal.backend())
}

const SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];

/// With NO_COLOR (or a monochrome terminal) not one cell is coloured, the screen says
/// the same words, and the cursor still stands out, in reverse video.
#[test]
fn monochrome_shows_everything_without_colour() {
    let cells = |app: &App| {
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("backend");
        terminal.draw(|f| acdc::ui::draw(f, app)).expect("draw");
        terminal.backend().buffer().clone()
    };
    let mut app = busy(100, 30);
    app.color = true;
    let coloured = cells(&app);
    app.color = false;
    let mono = cells(&app);
    use ratatui::style::{Color, Modifier};
    assert!(
        coloured.content().iter().any(|c| c.fg != Color::Reset),
        "the coloured screen has colours (else this test shows nothing)"
    );
    for cell in mono.content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    let text = |b: &ratatui::buffer::Buffer| -> String {
        b.content().iter().map(|c| c.symbol()).collect()
    };
    assert_eq!(text(&mono), text(&coloured));
    assert!(
        mono.content()
            .iter()
            .any(|c| c.modifier.contains(Modifier::REVERSED)),
        "the cursor shows in reverse video"
    );
}

#[test]
fn both_panes() {
    for (w, h) in SIZES {
        let app = browsing(w, h);
        insta::assert_snapshot!(format!("both_panes_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn cjk_and_emoji_folder_with_a_selection() {
    for (w, h) in SIZES {
        let mut app = browsing(w, h);
        send(
            &mut app,
            vec![key(KeyCode::Tab), ch('j'), ch('j'), key(KeyCode::Enter)],
        );
        listing(
            &mut app,
            1,
            vec![
                drive("東京タワーの写真 2016年8月 夜景.jpg", 5_242_880),
                drive("😀😃😄 grinning faces collection.png", 81_234),
                drive("e\u{301}te\u{301} (combining accents).txt", 12),
                drive("Ｆｕｌｌｗｉｄｔｈ／ｓｌａｓｈ.txt", 99),
                drive("control\u{7}bell.txt", 1),
            ],
        );
        send(&mut app, vec![ch(' '), ch(' ')]);
        insta::assert_snapshot!(format!("cjk_emoji_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn queue_with_every_state() {
    for (w, h) in SIZES {
        let mut app = busy(w, h);
        // Tall enough to show every row, focused so the cursor shows.
        send(&mut app, vec![ch('Q')]);
        for _ in 0..8 {
            update(&mut app, ch(']'));
        }
        insta::assert_snapshot!(format!("queue_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn help_screen() {
    for (w, h) in SIZES {
        let mut app = browsing(w, h);
        update(&mut app, ch('?'));
        insta::assert_snapshot!(format!("help_{w}x{h}"), screen(&app, w, h));
    }
}

/// Scrolled to its end, the help shows its last lines (the Esc-digit note, the log path).
#[test]
fn help_screen_at_its_end() {
    let mut app = browsing(80, 24);
    send(&mut app, vec![ch('?'), ch('G')]);
    insta::assert_snapshot!("help_end_80x24", screen(&app, 80, 24));
}

#[test]
fn confirm_delete() {
    for (w, h) in SIZES {
        let mut app = browsing(w, h);
        send(
            &mut app,
            vec![
                key(KeyCode::Tab),
                ch('G'),
                ch(' '),
                ch('k'),
                ch(' '),
                key(KeyCode::F(8)),
            ],
        );
        insta::assert_snapshot!(format!("confirm_delete_{w}x{h}"), screen(&app, w, h));
    }
}

/// A copy whose files exist, different, at the destination: every choice's key shows, at
/// 80 columns too.
#[test]
fn conflict_dialog() {
    for (w, h) in SIZES {
        let mut app = browsing(w, h);
        update(
            &mut app,
            Msg::Backend(Event::ScanDone {
                scan: 1,
                queued: 3,
                unchanged: 1,
                problems: vec![],
                conflicts: vec!["/home/ada/notes.md".into(), "/home/ada/議事録.txt".into()],
            }),
        );
        insta::assert_snapshot!(format!("conflict_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn trash_view() {
    for (w, h) in SIZES {
        let mut app = browsing(w, h);
        update(&mut app, ch('t'));
        let mut old = drive_dir("Old photos");
        old.modified = Some(now_secs() - 25 * DAY);
        let mut today = drive("Old draft.txt", 25);
        today.modified = Some(now_secs() - 3600);
        listing(&mut app, 1, vec![old, today]);
        insta::assert_snapshot!(format!("trash_{w}x{h}"), screen(&app, w, h));
    }
}

#[test]
fn a_remapped_key_shows_in_the_hint_line() {
    let keymap = Keymap::with_overrides(Some("[panes]\ncopy = [\"y\"]\n")).unwrap();
    let mut app = App::new("acd", Place::Local("/h".into()), keymap, 4);
    update(&mut app, Msg::Resize(80, 24));
    let text = screen(&app, 80, 24);
    let hint = text.lines().nth(23).unwrap_or_default();
    assert!(hint.contains("y copy"), "{hint}");
    assert!(!hint.contains("F5"), "{hint}");
}

#[test]
fn every_wizard_step() {
    for (w, h) in SIZES {
        let mut app = App::new(
            "",
            Place::Local("/home/ada".into()),
            Keymap::default_map(),
            4,
        );
        app.color = false;
        app.remotes = vec!["acd".into()];
        send(&mut app, vec![Msg::Tick(NOW_MS), Msg::Resize(w, h)]);
        app.open_wizard();
        let mut shots = Vec::new();
        let mut shoot = |app: &App, name: &str| shots.push((name.to_string(), screen(app, w, h)));
        // A name that is taken: the step says so.
        send(
            &mut app,
            vec![ch('a'), ch('c'), ch('d'), key(KeyCode::Enter)],
        );
        shoot(&app, "1_name_taken");
        send(&mut app, vec![ch('2'), key(KeyCode::Enter)]);
        update(
            &mut app,
            Msg::Paste("amzn1.application-oa2-client.0123456789abcdef".into()),
        );
        shoot(&app, "2_client_id");
        update(&mut app, key(KeyCode::Enter));
        update(
            &mut app,
            Msg::Paste("9f8e7d6c5b4a39281706f5e4d3c2b1a0".into()),
        );
        shoot(&app, "3_client_secret");
        update(&mut app, key(KeyCode::Enter));
        shoot(&app, "4_auth_url");
        update(&mut app, key(KeyCode::Enter));
        shoot(&app, "5_token_url");
        update(&mut app, key(KeyCode::Enter));
        update(&mut app, key(KeyCode::Down));
        shoot(&app, "6_method");
        update(&mut app, key(KeyCode::Enter));
        update(
            &mut app,
            Msg::Backend(Event::AuthUrl {
                url: "https://www.amazon.com/ap/oa?response_type=code&client_id=amzn1.application-oa2-client.0123456789abcdef&state=0123456789abcdefghij&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2F&scope=clouddrive%3Aread_all+clouddrive%3Awrite".into(),
                redirect: "http://127.0.0.1:53682/".into(),
                listening: "listening on 127.0.0.1:53682 for Amazon's answer".into(),
                browser_opened: false,
            }),
        );
        update(
            &mut app,
            Msg::Paste("http://127.0.0.1:53682/?code=ANBz".into()),
        );
        shoot(&app, "7_waiting");
        update(
            &mut app,
            Msg::Backend(Event::Authorized(Err(
                "the code was refused: invalid_grant".into(),
            ))),
        );
        shoot(&app, "8_outcome_failed");
        send(&mut app, vec![key(KeyCode::Enter), key(KeyCode::Enter)]);
        update(&mut app, Msg::Backend(Event::Authorized(Ok("{}".into()))));
        shoot(&app, "8_outcome_authorized");
        for (name, shot) in shots {
            insta::assert_snapshot!(format!("wizard_{name}_{w}x{h}"), shot);
        }
    }
}
