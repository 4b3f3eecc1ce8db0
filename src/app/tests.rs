//! update() by value: a state, messages in, the state and the exact requests out.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::fs::{Entry, Key};
use crate::transfer::{JobSpec, TransferState};

fn press(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(c: char) -> Msg {
    press(KeyCode::Char(c))
}

fn drive_file(id: &str, size: u64) -> Entry {
    Entry {
        name: format!("{id}.txt"),
        key: Key::Drive(id.into()),
        is_dir: false,
        size,
        modified: Some(1_500_000_000),
        md5: None,
    }
}

fn drive_folder(id: &str) -> Entry {
    Entry {
        name: id.into(),
        is_dir: true,
        ..drive_file(id, 0)
    }
}

fn local_file(name: &str) -> Entry {
    Entry {
        name: name.into(),
        key: Key::Local(PathBuf::from("/home/me").join(name)),
        is_dir: false,
        size: 10,
        modified: None,
        md5: None,
    }
}

/// An app whose panes listed `local` and `drive` (at the Drive's root).
fn listed(local: Vec<Entry>, drive: Vec<Entry>) -> App {
    let mut app = App::new(
        "acd",
        Place::Local(PathBuf::from("/home/me")),
        Keymap::default_map(),
        4,
    );
    update(&mut app, Msg::Resize(80, 24));
    app.start();
    update(
        &mut app,
        Msg::Backend(Event::Connected {
            remote: "acd".into(),
        }),
    );
    for (i, entries) in [(0, local), (1, drive)] {
        let listing = app.panes[i].listing;
        update(
            &mut app,
            Msg::Backend(Event::Listing {
                listing,
                entries,
                done: true,
            }),
        );
    }
    app
}

fn run(app: &mut App, msgs: Vec<Msg>) -> Vec<Request> {
    msgs.into_iter().flat_map(|m| update(app, m)).collect()
}

#[test]
fn start_lists_local_connects_then_lists_the_drive() {
    let mut app = App::new(
        "acd",
        Place::Local("/data".into()),
        Keymap::default_map(),
        4,
    );
    let out = app.start();
    let l = app.panes[0].listing;
    assert_eq!(
        out,
        vec![
            Request::List {
                side: Side::Local,
                listing: l,
                place: Place::Local("/data".into())
            },
            Request::Space {
                side: Side::Local,
                place: Place::Local("/data".into())
            },
            Request::Connect {
                remote: "acd".into()
            },
        ]
    );
    let out = update(
        &mut app,
        Msg::Backend(Event::Connected {
            remote: "acd".into(),
        }),
    );
    let r = app.panes[1].listing;
    assert_ne!(l, r);
    assert_eq!(
        out,
        vec![
            Request::List {
                side: Side::Drive,
                listing: r,
                place: Place::Drive(vec![])
            },
            Request::Space {
                side: Side::Drive,
                place: Place::Drive(vec![])
            },
        ]
    );
    assert!(app.connected);
}

#[test]
fn a_revoked_token_opens_the_wizard_at_authorize_and_saving_reconnects() {
    let mut app = App::new(
        "acd",
        Place::Local("/data".into()),
        Keymap::default_map(),
        4,
    );
    app.start();
    let remote = crate::config::NewRemote {
        name: "acd".into(),
        ..wizard::amazon_defaults()
    };
    update(
        &mut app,
        Msg::Backend(Event::NeedsAuth {
            remote: remote.clone(),
            message: "revoked".into(),
        }),
    );
    assert_eq!(app.mode(), Mode::Wizard);
    assert_eq!(app.wizard.as_ref().unwrap().step, wizard::Step::Method);
    let out = run(&mut app, vec![press(KeyCode::Down), press(KeyCode::Enter)]);
    assert_eq!(
        out,
        vec![Request::Wizard(WizardRequest::Start {
            remote: remote.clone(),
            open_browser: false
        })]
    );
    // The user pastes the address the browser ended on.
    let out = run(
        &mut app,
        vec![
            Msg::Paste("http://127.0.0.1:53682/?code=c0de&state=s".into()),
            press(KeyCode::Enter),
        ],
    );
    assert_eq!(
        out,
        vec![Request::Wizard(WizardRequest::Paste(
            "http://127.0.0.1:53682/?code=c0de&state=s".into()
        ))]
    );
    update(&mut app, Msg::Backend(Event::Authorized(Ok("{}".into()))));
    let out = update(&mut app, press(KeyCode::Enter));
    assert_eq!(
        out,
        vec![Request::Wizard(WizardRequest::Save {
            remote: crate::config::NewRemote {
                token: "{}".into(),
                ..remote
            },
            token_only: true
        })]
    );
    let out = update(
        &mut app,
        Msg::Backend(Event::RemoteSaved { name: "acd".into() }),
    );
    assert_eq!(
        out,
        vec![Request::Connect {
            remote: "acd".into()
        }]
    );
    assert!(app.wizard.is_none());
}

#[test]
fn esc_out_of_a_first_wizard_quits_but_not_a_later_one() {
    let mut app = App::new("", Place::Local("/data".into()), Keymap::default_map(), 4);
    app.open_wizard();
    assert!(
        !app.start()
            .iter()
            .any(|r| matches!(r, Request::Connect { .. }))
    );
    let out = update(&mut app, press(KeyCode::Esc));
    assert_eq!(
        out,
        vec![Request::Wizard(WizardRequest::Cancel), Request::Quit]
    );
    assert!(app.quit);

    let mut app = listed(vec![], vec![]);
    update(&mut app, ch('W'));
    assert_eq!(app.mode(), Mode::Wizard);
    update(&mut app, press(KeyCode::Esc));
    assert!(!app.quit && app.wizard.is_none());
}

#[test]
fn a_stale_listing_is_dropped_and_pages_arrive_in_order() {
    let mut app = listed(vec![], vec![drive_folder("Photos")]);
    // Open Photos: a new listing; a late page of the old one must not land in it.
    let out = run(&mut app, vec![press(KeyCode::Tab), press(KeyCode::Enter)]);
    let Request::List { listing, place, .. } = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(
        place,
        &Place::Drive(vec![pane::Crumb {
            id: "Photos".into(),
            name: "Photos".into()
        }])
    );
    let stale = listing - 1;
    update(
        &mut app,
        Msg::Backend(Event::Listing {
            listing: stale,
            entries: vec![drive_file("old", 1)],
            done: true,
        }),
    );
    assert!(app.panes[1].entries.is_empty());
    for (page, done) in [
        (vec![drive_file("a", 1)], false),
        (vec![drive_file("b", 2)], true),
    ] {
        update(
            &mut app,
            Msg::Backend(Event::Listing {
                listing: *listing,
                entries: page,
                done,
            }),
        );
    }
    assert_eq!(app.panes[1].view.len(), 2);
    assert!(!app.panes[1].loading);
    // Back up: the cursor lands on the folder we came from.
    let out = update(&mut app, press(KeyCode::Backspace));
    let Request::List { listing, .. } = out[0] else {
        panic!()
    };
    update(
        &mut app,
        Msg::Backend(Event::Listing {
            listing,
            entries: vec![
                drive_file("x", 1),
                drive_folder("Photos"),
                drive_folder("A"),
            ],
            done: true,
        }),
    );
    assert_eq!(app.panes[1].cursor_entry().unwrap().name, "Photos");
}

#[test]
fn select_two_and_copy_them_to_the_other_pane() {
    let mut app = listed(
        vec![local_file("here.txt")],
        vec![drive_file("a", 1), drive_file("b", 2), drive_file("c", 4)],
    );
    let out = run(
        &mut app,
        vec![press(KeyCode::Tab), ch(' '), ch(' '), press(KeyCode::F(5))],
    );
    assert_eq!(out.len(), 1);
    let Request::Copy { sources, to, .. } = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(
        sources.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["a.txt", "b.txt"]
    );
    assert_eq!(to, &Place::Local("/home/me".into()));
    assert_eq!(
        app.panes[1].selection_total(),
        (0, 0),
        "the selection is used up"
    );
    // Without a selection, the entry under the cursor goes (c is under it now).
    let out = update(&mut app, ch('c'));
    let Request::Copy { sources, .. } = &out[0] else {
        panic!()
    };
    assert_eq!(sources[0].name, "c.txt");
}

#[test]
fn esc_then_a_digit_is_that_f_key() {
    let mut app = listed(vec![local_file("x")], vec![]);
    let out = run(&mut app, vec![press(KeyCode::Esc), ch('7')]);
    assert!(out.is_empty());
    assert!(matches!(
        app.dialog,
        Some(Dialog::Input {
            purpose: InputFor::Mkdir,
            ..
        })
    ));
}

#[test]
fn delete_asks_with_count_and_size_then_trashes() {
    let mut app = listed(vec![], vec![drive_file("a", 1024), drive_file("b", 1024)]);
    run(
        &mut app,
        vec![press(KeyCode::Tab), ch('*'), press(KeyCode::F(8))],
    );
    let Some(Dialog::Confirm { lines, .. }) = &app.dialog else {
        panic!("{:?}", app.dialog)
    };
    assert_eq!(lines[0], "Move 2 items (2 KiB) to the trash?");
    // No: nothing happens.
    assert!(update(&mut app, ch('n')).is_empty());
    assert!(app.dialog.is_none());
    update(&mut app, press(KeyCode::F(8)));
    let out = update(&mut app, ch('y'));
    assert_eq!(
        out,
        vec![Request::Trash {
            side: Side::Drive,
            entries: vec![drive_file("a", 1024), drive_file("b", 1024)]
        }]
    );
}

#[test]
fn the_trash_view_lists_and_restores() {
    let mut app = listed(vec![], vec![drive_file("a", 1)]);
    let out = update(&mut app, ch('t'));
    assert!(matches!(
        out[..],
        [Request::List {
            side: Side::Drive,
            place: Place::Trash,
            ..
        }]
    ));
    assert_eq!(app.focus, Focus::Right);
    assert_eq!(app.mode(), Mode::Trash);
    let listing = app.panes[1].listing;
    update(
        &mut app,
        Msg::Backend(Event::Listing {
            listing,
            entries: vec![drive_file("gone", 5)],
            done: true,
        }),
    );
    let out = update(&mut app, ch('u'));
    assert_eq!(
        out,
        vec![Request::Restore {
            entries: vec![drive_file("gone", 5)]
        }]
    );
    // Closing goes back where the pane was.
    let out = update(&mut app, ch('t'));
    assert!(matches!(&out[0], Request::List { place: Place::Drive(c), .. } if c.is_empty()));
}

#[test]
fn names_are_checked_before_anything_is_asked() {
    let mut app = listed(vec![], vec![]);
    let out = run(
        &mut app,
        vec![ch('n'), ch('a'), ch('/'), ch('b'), press(KeyCode::Enter)],
    );
    assert!(out.is_empty());
    assert!(app.status.contains("cannot contain '/'"), "{}", app.status);
    let out = run(&mut app, vec![ch('n'), ch('ö'), press(KeyCode::Enter)]);
    assert_eq!(
        out,
        vec![Request::Mkdir {
            side: Side::Local,
            parent: Place::Local("/home/me".into()),
            name: "ö".into()
        }]
    );
}

#[test]
fn filter_as_you_type_and_esc_clears_it() {
    let mut app = listed(
        vec![
            local_file("notes.md"),
            local_file("photo.png"),
            local_file("NOTICE"),
        ],
        vec![],
    );
    run(&mut app, vec![ch('/'), ch('n'), ch('o')]);
    assert_eq!(app.panes[0].view.len(), 2);
    run(&mut app, vec![ch('t'), ch('e')]);
    assert_eq!(app.panes[0].view.len(), 1);
    update(&mut app, press(KeyCode::Esc));
    assert_eq!(app.panes[0].view.len(), 3);
    assert!(app.dialog.is_none());
}

fn with_job(app: &mut App, id: u64, state: TransferState) {
    update(
        app,
        Msg::Backend(Event::Transfer(crate::transfer::Event::Added {
            id,
            spec: JobSpec::Upload {
                local: PathBuf::from("/home/me/x"),
                parent: "p".into(),
                name: "x".into(),
                size: 5,
            },
        })),
    );
    update(
        app,
        Msg::Backend(Event::Transfer(crate::transfer::Event::State { id, state })),
    );
}

#[test]
fn quit_asks_only_while_transfers_run() {
    let mut app = listed(vec![], vec![]);
    with_job(&mut app, 1, TransferState::Queued);
    assert!(update(&mut app, ch('q')).is_empty());
    assert!(!app.quit);
    assert_eq!(update(&mut app, ch('y')), vec![Request::Quit]);
    assert!(app.quit);

    let mut app = listed(vec![], vec![]);
    with_job(&mut app, 1, TransferState::Done);
    assert_eq!(update(&mut app, ch('q')), vec![Request::Quit]);
}

#[test]
fn the_queue_is_steered_from_its_own_keys() {
    let mut app = listed(vec![], vec![]);
    with_job(&mut app, 7, TransferState::Queued);
    with_job(&mut app, 8, TransferState::Failed { reason: "x".into() });
    let out = run(
        &mut app,
        vec![
            ch('Q'),
            ch('j'),
            ch('+'),
            ch('k'),
            ch('x'),
            ch('p'),
            ch('p'),
            ch('R'),
            press(KeyCode::Right),
        ],
    );
    assert_eq!(
        out,
        vec![
            Request::Queue(QueueCommand::SetPriority(8, 1)),
            Request::Queue(QueueCommand::Cancel(7)),
            Request::Queue(QueueCommand::Pause),
            Request::Queue(QueueCommand::Resume),
            Request::Queue(QueueCommand::RetryFailed),
            Request::Queue(QueueCommand::SetConcurrency(5)),
        ]
    );
    update(&mut app, press(KeyCode::Esc));
    assert_eq!(app.focus, Focus::Left);
}

#[test]
fn drive_changes_reload_only_the_folder_shown() {
    let mut app = listed(vec![], vec![drive_file("shown", 5)]);
    update(&mut app, Msg::Backend(Event::DriveRoot("root".into())));
    let reloads_drive = |out: &[Request]| {
        matches!(
            out,
            [
                Request::List {
                    side: Side::Drive,
                    ..
                },
                Request::Space { .. }
            ]
        )
    };
    let out = update(
        &mut app,
        Msg::Backend(Event::DriveChanged(vec!["n1".into(), "elsewhere".into()])),
    );
    assert!(out.is_empty(), "{out:?}");
    let out = update(
        &mut app,
        Msg::Backend(Event::DriveChanged(vec!["n1".into(), "root".into()])),
    );
    assert!(reloads_drive(&out), "{out:?}");
    // Moved out of the folder shown: the change names only its new parent.
    let listing = app.panes[1].listing;
    update(
        &mut app,
        Msg::Backend(Event::Listing {
            listing,
            entries: vec![drive_file("shown", 5)],
            done: true,
        }),
    );
    let out = update(
        &mut app,
        Msg::Backend(Event::DriveChanged(vec![
            "shown".into(),
            "elsewhere".into(),
        ])),
    );
    assert!(reloads_drive(&out), "{out:?}");
}

#[test]
fn a_user_keymap_rebinds_what_the_keys_do() {
    let keymap = Keymap::with_overrides(Some("[panes]\ncopy = [\"y\"]\n")).unwrap();
    let mut app = App::new("acd", Place::Local("/h".into()), keymap, 4);
    app.start();
    let listing = app.panes[0].listing;
    update(
        &mut app,
        Msg::Backend(Event::Listing {
            listing,
            entries: vec![local_file("a")],
            done: true,
        }),
    );
    assert!(update(&mut app, press(KeyCode::F(5))).is_empty());
    assert!(matches!(
        update(&mut app, ch('y'))[..],
        [Request::Copy { .. }]
    ));
}

#[test]
fn scans_show_until_they_are_queued() {
    let mut app = listed(vec![], vec![]);
    update(
        &mut app,
        Msg::Backend(Event::ScanStarted {
            scan: 3,
            label: "Photos".into(),
        }),
    );
    assert!(app.queue.busy());
    let out = run(&mut app, vec![ch('Q'), ch('x')]);
    assert_eq!(out, vec![Request::CancelScan(3)]);
    update(
        &mut app,
        Msg::Backend(Event::ScanDone {
            scan: 3,
            queued: 4,
            unchanged: 1,
            problems: vec!["a: name differs only in case".into()],
            conflicts: vec![],
        }),
    );
    assert!(app.queue.scans.is_empty());
    assert_eq!(
        app.status,
        "queued 4 files, 1 already there; 1 not copied (L shows why)"
    );
    assert_eq!(app.errors, vec!["a: name differs only in case".to_string()]);
}

#[test]
fn an_unfinished_queue_is_offered_at_start() {
    let mut app = listed(vec![], vec![]);
    update(&mut app, Msg::Backend(Event::Unfinished(12)));
    let Some(Dialog::Confirm { lines, .. }) = &app.dialog else {
        panic!("{:?}", app.dialog)
    };
    assert!(lines[0].contains("12 transfers"), "{lines:?}");
    assert_eq!(
        update(&mut app, ch('y')),
        vec![Request::Queue(QueueCommand::ResumeUnfinished)]
    );
    // No keeps them for later: nothing is asked of the backend.
    update(&mut app, Msg::Backend(Event::Unfinished(12)));
    assert!(update(&mut app, ch('n')).is_empty());
    assert!(app.dialog.is_none());
}

#[test]
fn files_already_there_are_asked_about_once_for_all() {
    let mut app = listed(vec![], vec![]);
    update(
        &mut app,
        Msg::Backend(Event::ScanDone {
            scan: 4,
            queued: 2,
            unchanged: 0,
            problems: vec![],
            conflicts: vec!["a.txt".into(), "b.txt".into()],
        }),
    );
    assert_eq!(app.mode(), Mode::Conflict);
    assert_eq!(
        update(&mut app, ch('k')),
        vec![Request::Resolve {
            scan: 4,
            resolution: Resolution::KeepBoth
        }]
    );
    assert!(app.dialog.is_none());
    update(
        &mut app,
        Msg::Backend(Event::ScanDone {
            scan: 5,
            queued: 0,
            unchanged: 0,
            problems: vec![],
            conflicts: vec!["a.txt".into()],
        }),
    );
    assert_eq!(
        update(&mut app, press(KeyCode::Esc)),
        vec![Request::Resolve {
            scan: 5,
            resolution: Resolution::Skip
        }]
    );
}

#[test]
fn a_move_is_asked_then_copies_and_removes() {
    let mut app = listed(vec![local_file("a.txt"), local_file("b.txt")], vec![]);
    let out = run(&mut app, vec![ch(' '), ch(' '), press(KeyCode::F(6))]);
    assert!(out.is_empty());
    let Some(Dialog::Confirm { lines, .. }) = &app.dialog else {
        panic!("{:?}", app.dialog)
    };
    assert_eq!(lines[0], "Move 2 items (20 B) to acd:/?");
    let out = update(&mut app, ch('y'));
    let [
        Request::Copy {
            sources,
            to,
            and_remove: true,
            ..
        },
    ] = &out[..]
    else {
        panic!("{out:?}")
    };
    assert_eq!(sources.len(), 2);
    assert_eq!(to, &Place::Drive(vec![]));
    // F2 renames.
    update(&mut app, press(KeyCode::F(2)));
    assert!(matches!(
        app.dialog,
        Some(Dialog::Input {
            purpose: InputFor::Rename(_),
            ..
        })
    ));
}

#[test]
fn help_scrolls_by_line_and_page_and_stops_at_its_end() {
    let mut app = listed(vec![], vec![]);
    update(&mut app, ch('?'));
    assert_eq!(app.help, Some(0));
    let total = help::lines(&app).len();
    // 24 rows less the border show 22 lines; the rest is below.
    let last = total - 22;
    assert!(
        last > 0,
        "the help fits at 80x24; this test needs it not to"
    );
    update(&mut app, ch('j'));
    assert_eq!(app.help, Some(1));
    update(&mut app, press(KeyCode::PageDown));
    assert_eq!(app.help, Some(22));
    update(&mut app, ch('G'));
    assert_eq!(app.help, Some(last));
    update(&mut app, ch('j'));
    assert_eq!(app.help, Some(last), "no scrolling past the end");
    update(&mut app, press(KeyCode::PageUp));
    assert_eq!(app.help, Some(last - 21));
    update(&mut app, ch('g'));
    assert_eq!(app.help, Some(0));
    update(&mut app, ch('k'));
    assert_eq!(app.help, Some(0));
    update(&mut app, ch('q'));
    assert_eq!(app.help, None);
}

fn mouse(kind: MouseEventKind, column: u16, row: u16) -> Msg {
    Msg::Mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

#[test]
fn the_mouse_focuses_selects_opens_and_scrolls() {
    let locals = (0..30).map(|i| local_file(&format!("f{i:02}"))).collect();
    let mut app = listed(
        locals,
        vec![drive_file("a", 1), drive_folder("b"), drive_file("c", 3)],
    );
    let a = app.areas();
    // Rows start below the top border and the column header.
    let (right_x, row_of) = (a.right.x + 3, |i: u16| a.right.y + 2 + i);
    let left = MouseButton::Left;

    let out = update(
        &mut app,
        mouse(MouseEventKind::Down(left), right_x, row_of(2)),
    );
    assert!(out.is_empty(), "{out:?}");
    assert_eq!((app.focus, app.panes[1].cursor), (Focus::Right, 2));

    // Folders first: b, a.txt, c.txt. A right click selects without opening or moving on.
    let out = update(
        &mut app,
        mouse(MouseEventKind::Down(MouseButton::Right), right_x, row_of(1)),
    );
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(app.panes[1].cursor, 1);
    assert!(app.panes[1].is_selected(&Key::Drive("a".into())));

    // The first click puts the cursor on the folder, the second opens it.
    update(
        &mut app,
        mouse(MouseEventKind::Down(left), right_x, row_of(0)),
    );
    assert_eq!(app.panes[1].cursor, 0);
    let out = update(
        &mut app,
        mouse(MouseEventKind::Down(left), right_x, row_of(0)),
    );
    assert!(
        matches!(
            &out[..],
            [
                Request::List {
                    side: Side::Drive,
                    ..
                },
                ..
            ]
        ),
        "{out:?}"
    );

    // Below the last entry a click changes nothing but the focus (the folder b opened
    // is still loading: empty).
    update(
        &mut app,
        mouse(MouseEventKind::Down(left), right_x, row_of(10)),
    );
    assert_eq!(app.panes[1].cursor, 0);

    // The wheel scrolls the pane under it, focused or not.
    let left_x = a.left.x + 3;
    update(
        &mut app,
        mouse(MouseEventKind::ScrollDown, left_x, row_of(0)),
    );
    update(
        &mut app,
        mouse(MouseEventKind::ScrollDown, left_x, row_of(0)),
    );
    assert_eq!(app.panes[0].cursor, 6);
    update(&mut app, mouse(MouseEventKind::ScrollUp, left_x, row_of(0)));
    assert_eq!(app.panes[0].cursor, 3);
    assert_eq!(app.focus, Focus::Right);

    // A click in the queue focuses it.
    update(
        &mut app,
        mouse(MouseEventKind::Down(left), a.queue.x + 2, a.queue.y + 1),
    );
    assert_eq!(app.focus, Focus::Queue);
}

#[test]
fn local_files_without_a_trash_are_deleted_for_good_only_when_confirmed() {
    let files = vec![local_file("a"), local_file("b")];
    let mut app = listed(files.clone(), vec![]);
    let out = run(&mut app, vec![ch('*'), press(KeyCode::F(8)), ch('y')]);
    assert_eq!(
        out,
        vec![Request::Trash {
            side: Side::Local,
            entries: files.clone()
        }]
    );
    // The backend found no freedesktop trash for them.
    update(
        &mut app,
        Msg::Backend(Event::NoTrash {
            entries: files.clone(),
            reason: "no trash folder on /mnt/usb".into(),
        }),
    );
    let Some(Dialog::Confirm { title, lines, .. }) = &app.dialog else {
        panic!("{:?}", app.dialog)
    };
    assert_eq!(title, "Delete for good");
    assert_eq!(
        lines,
        &vec![
            "no trash folder on /mnt/usb".to_string(),
            "Delete 2 items (20 B) permanently? This cannot be undone.".to_string()
        ]
    );
    assert!(update(&mut app, press(KeyCode::Esc)).is_empty());
    assert!(app.dialog.is_none(), "Esc said no");
    update(
        &mut app,
        Msg::Backend(Event::NoTrash {
            entries: files.clone(),
            reason: "no trash folder on /mnt/usb".into(),
        }),
    );
    assert_eq!(
        update(&mut app, ch('y')),
        vec![Request::DeleteForGood { entries: files }]
    );
}

#[test]
fn sort_cycles_and_selection_by_glob_and_inverted() {
    let names = ["b.jpg", "a.txt", "c.JPG"];
    let mut app = listed(names.iter().map(|n| local_file(n)).collect(), vec![]);
    let shown = |app: &App| -> Vec<String> {
        let p = &app.panes[0];
        p.view.iter().map(|&i| p.entries[i].name.clone()).collect()
    };
    assert_eq!(shown(&app), ["a.txt", "b.jpg", "c.JPG"]);
    update(&mut app, ch('+'));
    for c in "*.jpg".chars() {
        update(&mut app, ch(c));
    }
    update(&mut app, press(KeyCode::Enter));
    assert_eq!(app.panes[0].selection_total(), (2, 20));
    update(&mut app, ch('*'));
    assert_eq!(app.panes[0].selection_total(), (1, 10));
    assert!(app.panes[0].is_selected(&Key::Local("/home/me/a.txt".into())));
    update(&mut app, ch('s'));
    assert_eq!(app.panes[0].sort, pane::Sort::Size);
    update(&mut app, ch('s'));
    assert_eq!(app.panes[0].sort, pane::Sort::Date);
    update(&mut app, ch('s'));
    assert_eq!(app.panes[0].sort, pane::Sort::Name);
}
