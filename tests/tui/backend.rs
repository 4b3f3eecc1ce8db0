//! The backend task the TUI talks to, driven by its requests against the demo's acd-emu.

use std::time::Duration;

use acdc::app::pane::{Place, Side};
use acdc::app::{Event, Request};
use acdc::backend::{self, BackendOptions};
use acdc::drive::content::file_md5;
use acdc::emu::Emu;
use acdc::emu::store::Status;
use acdc::fs::{Entry, Key};
use acdc::transfer::engine::EngineOptions;
use acdc::transfer::{Event as EngineEvent, TransferState};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::e2e::small_seed;

/// The next event `pick` accepts, skipping the others (listings, space, changes).
async fn wait_for<T>(
    events: &mut UnboundedReceiver<Event>,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let event = events.recv().await.expect("the backend stopped");
            if let Some(found) = pick(event) {
                return found;
            }
        }
    })
    .await
    .expect("no such event within 20 s")
}

async fn done_or_failed(events: &mut UnboundedReceiver<Event>) -> Result<String, String> {
    wait_for(events, |e| match e {
        Event::Done { message, .. } => Some(Ok(message)),
        Event::Failed { message, .. } => Some(Err(message)),
        _ => None,
    })
    .await
}

struct Connected {
    demo: acdc::launch::Demo,
    requests: UnboundedSender<Request>,
    events: UnboundedReceiver<Event>,
    root: String,
}

/// A backend for the demo's session, asked to connect its remote.
fn connecting(demo: &acdc::launch::Demo) -> (UnboundedSender<Request>, UnboundedReceiver<Event>) {
    let (requests, events) = backend::start(BackendOptions {
        session: demo.session.clone(),
        engine: EngineOptions::default(),
        journal_dir: demo.journal_dir(),
    });
    requests
        .send(Request::Connect {
            remote: "demo".into(),
        })
        .expect("backend gone");
    (requests, events)
}

/// The demo's emulator and a backend connected to its remote.
async fn connected() -> Connected {
    let demo = acdc::launch::demo(small_seed(), true).await.expect("demo");
    let (requests, mut events) = connecting(&demo);
    let root = wait_for(&mut events, |e| match e {
        Event::DriveRoot(id) => Some(id),
        _ => None,
    })
    .await;
    Connected {
        demo,
        requests,
        events,
        root,
    }
}

/// Names typed into the new-folder and rename dialogs reach the Drive encoded the way
/// rclone encodes them, so rclone later reads back what the user typed; a `/` in a name
/// is not taken as a path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_drive_names_are_encoded_as_rclone_would() {
    let Connected {
        demo,
        requests,
        mut events,
        root,
    } = connected().await;
    let send = |r: Request| requests.send(r).expect("backend gone");
    let child = |name: &str| {
        demo.server
            .emu
            .with_store(|s| s.find_child(&root, name, ""))
            .expect("store")
    };

    send(Request::Mkdir {
        side: Side::Drive,
        parent: Place::Drive(vec![]),
        name: "2024/25".into(),
    });
    done_or_failed(&mut events).await.expect("mkdir");
    let made = child("2024／25").expect("the folder, its slash encoded");
    assert_eq!(child("2024/25"), None);

    send(Request::Rename {
        side: Side::Drive,
        key: Key::Drive(made.clone()),
        name: "..".into(),
    });
    done_or_failed(&mut events).await.expect("rename");
    assert_eq!(child("．．"), Some(made));
    let _ = requests.send(Request::Quit);
}

/// A folder made elsewhere (another client, the web page) reaches the Drive pane through
/// the changes feed, naming the folder it appeared in, within a few seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_elsewhere_are_reported_with_their_parent() {
    let Connected {
        demo,
        requests,
        mut events,
        root,
    } = connected().await;
    // Let the feed find its first checkpoint, then change the Drive behind acdc's back.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let made = demo
        .server
        .emu
        .with_store(|s| {
            s.create_folder(&acdc::emu::store::NewNode {
                name: "made on the web".into(),
                parents: vec![root.clone()],
                created_by: "web".into(),
                ..Default::default()
            })
        })
        .expect("folder");
    let touched = wait_for(&mut events, |e| match e {
        Event::DriveChanged(ids) if ids.contains(&made.id) => Some(ids),
        _ => None,
    })
    .await;
    assert!(touched.contains(&root), "{touched:?}");
    // The checkpoint went into the remote's section, as rclone keeps it.
    let config = std::fs::read_to_string(&demo.session.config_path).expect("config");
    assert!(config.contains("checkpoint = "), "{config}");
    let _ = requests.send(Request::Quit);
}

/// A token the config holds but that cannot be read (hand-edited, truncated) sends the
/// remote to re-authorization with its other settings kept, instead of a dead pane.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_token_asks_to_reauthorize_keeping_the_settings() {
    let demo = acdc::launch::demo(small_seed(), true).await.expect("demo");
    let config = &demo.session.config_path;
    let text = std::fs::read_to_string(config).expect("config");
    let broken: String = text
        .lines()
        .map(|l| {
            if l.starts_with("token = ") {
                "token = {\"access_token\": trunc".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(config, &broken).expect("write");
    let (requests, mut events) = connecting(&demo);
    let (remote, message) = wait_for(&mut events, |e| match e {
        Event::NeedsAuth { remote, message } => Some((remote, message)),
        Event::Failed { message, .. } => panic!("failed instead: {message}"),
        _ => None,
    })
    .await;
    assert!(message.contains("token"), "{message}");
    assert_eq!(remote.name, "demo");
    assert_eq!(remote.client_id, demo.remote.client_id);
    assert_eq!(remote.token_url, demo.remote.token_url);
    assert_eq!(remote.endpoint_url, demo.remote.endpoint_url);
    // Nothing was written while asking.
    assert_eq!(std::fs::read_to_string(config).expect("config"), broken);
    let _ = requests.send(Request::Quit);
}

/// The id of `name` in the Drive folder `parent`, from acd-emu's own store.
fn child(emu: &Emu, parent: &str, name: &str) -> String {
    emu.with_store(|s| s.find_child(parent, name, ""))
        .expect("store")
        .unwrap_or_else(|| panic!("{name} on the Drive"))
}

/// The pane's entry for the Drive file `name` in folder `parent`, as a listing gives it.
fn drive_file(emu: &Emu, parent: &str, name: &str) -> Entry {
    let id = child(emu, parent, name);
    let content = emu
        .with_store(|s| s.require(&id))
        .expect("node")
        .content
        .expect("a file");
    Entry {
        name: name.into(),
        key: Key::Drive(id),
        is_dir: false,
        size: content.size,
        modified: None,
        md5: Some(content.md5),
    }
}

fn status(emu: &Emu, id: &str) -> Status {
    emu.with_store(|s| s.require(id)).expect("node").status
}

/// A move's request for `sources` into the demo's local folder.
fn move_to_local(demo: &acdc::launch::Demo, sources: Vec<Entry>) -> Request {
    Request::Copy {
        scan: 1,
        sources,
        to: Place::Local(demo.local()),
        and_remove: true,
    }
}

/// Waits until `copies` transfers are Done and the backend has said `said`; a failed
/// transfer fails the test.
async fn until_moved(events: &mut UnboundedReceiver<Event>, copies: usize, said: &str) {
    let (mut done, mut heard) = (0, false);
    while done < copies || !heard {
        wait_for(events, |e| match e {
            Event::Transfer(EngineEvent::State {
                state: TransferState::Done,
                ..
            }) => {
                done += 1;
                Some(())
            }
            Event::Transfer(EngineEvent::State {
                state: TransferState::Failed { reason },
                ..
            }) => panic!("{reason}"),
            Event::Done { message, .. } if message.contains(said) => {
                heard = true;
                Some(())
            }
            _ => None,
        })
        .await;
    }
}

/// Polls acd-emu until every node in `ids` is in the trash.
async fn until_trashed(emu: &Emu, ids: &[&str]) {
    let started = std::time::Instant::now();
    while let Some(left) = ids.iter().find(|id| status(emu, id) != Status::Trash) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{left}: {:?}",
            status(emu, left)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// F6 on two Drive files, one of them already in the local folder with the same MD5: the
/// other is copied and verified, and only then is each original moved to the Drive's trash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_trashes_the_originals_only_once_the_copies_are_there() {
    let Connected {
        demo,
        requests,
        mut events,
        root,
    } = connected().await;
    let emu = &demo.server.emu;
    let docs = child(emu, &root, "Documents");
    // The demo's local folder has notes.md as the Drive has it; not the budget.
    let (same, new) = (
        drive_file(emu, &docs, "notes.md"),
        drive_file(emu, &docs, "budget 2017.csv"),
    );
    assert_eq!(file_md5(&demo.local().join("notes.md")).ok(), same.md5);
    requests
        .send(move_to_local(&demo, vec![same.clone(), new.clone()]))
        .expect("backend gone");
    until_moved(&mut events, 1, "already at the destination").await;
    assert_eq!(
        file_md5(&demo.local().join("budget 2017.csv")).ok(),
        new.md5
    );
    let ids = |e: &Entry| match &e.key {
        Key::Drive(id) => id.clone(),
        Key::Local(_) => unreachable!(),
    };
    until_trashed(emu, &[&ids(&same), &ids(&new)]).await;
    let _ = requests.send(Request::Quit);
}

/// F6 on a Drive folder: every file is copied and verified, each original goes, and then
/// the folders the move emptied go to the trash too, not left behind as empty shells.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_folder_leaves_no_empty_folders_behind() {
    let Connected {
        demo,
        requests,
        mut events,
        root,
    } = connected().await;
    let emu = &demo.server.emu;
    let photos = child(emu, &root, "Photos");
    let holiday = child(emu, &photos, "Holiday 2016");
    let folder = Entry {
        name: "Photos".into(),
        key: Key::Drive(photos.clone()),
        is_dir: true,
        size: 0,
        modified: None,
        md5: None,
    };
    requests
        .send(move_to_local(&demo, vec![folder]))
        .expect("backend gone");
    // beach, mountains, sunset, cat; the folders only once they are all there.
    until_moved(&mut events, 4, "moved 1 folder").await;
    for name in [
        "cat.png",
        "Holiday 2016/beach.png",
        "Holiday 2016/sunset.png",
    ] {
        assert!(demo.local().join("Photos").join(name).is_file(), "{name}");
    }
    until_trashed(emu, &[&photos, &holiday]).await;
    let _ = requests.send(Request::Quit);
}

/// A move cut off by a crash or a lost SSH session: the next session resumes its copy from
/// the journal, and its original still goes once the copy is verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_resumed_after_a_crash_still_removes_its_original() {
    use acdc::app::QueueCommand;
    let Connected {
        demo,
        requests,
        mut events,
        root,
    } = connected().await;
    let emu = &demo.server.emu;
    let docs = child(emu, &root, "Documents");
    let file = drive_file(emu, &docs, "Résumé — draft.txt");
    let Key::Drive(id) = file.key.clone() else {
        unreachable!()
    };
    // Paused, so the session ends with the move's copy still queued.
    requests
        .send(Request::Queue(QueueCommand::Pause))
        .expect("backend gone");
    requests
        .send(move_to_local(&demo, vec![file]))
        .expect("backend gone");
    wait_for(&mut events, |e| {
        matches!(e, Event::Transfer(EngineEvent::Added { .. })).then_some(())
    })
    .await;
    let _ = requests.send(Request::Quit);
    drop(events);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(emu, &id), Status::Available);

    // The next session.
    let (requests, mut events) = connecting(&demo);
    let left = wait_for(&mut events, |e| match e {
        Event::Unfinished(n) => Some(n),
        _ => None,
    })
    .await;
    assert_eq!(left, 1);
    requests
        .send(Request::Queue(QueueCommand::ResumeUnfinished))
        .expect("backend gone");
    wait_for(&mut events, |e| match e {
        Event::Transfer(EngineEvent::State {
            state: TransferState::Done,
            ..
        }) => Some(()),
        _ => None,
    })
    .await;
    assert!(demo.local().join("Résumé — draft.txt").is_file());
    until_trashed(emu, &[&id]).await;
    let _ = requests.send(Request::Quit);
}
