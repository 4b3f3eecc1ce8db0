//! The backend task the TUI talks to, driven by its requests against the demo's acd-emu.

use std::time::Duration;

use acdc::app::pane::{Place, Side};
use acdc::app::{Event, Request};
use acdc::backend::{self, BackendOptions};
use acdc::emu::seed::SeedSpec;
use acdc::fs::Key;
use acdc::transfer::engine::EngineOptions;
use tokio::sync::mpsc::UnboundedReceiver;

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

/// Names typed into the new-folder and rename dialogs reach the Drive encoded the way
/// rclone encodes them, so rclone later reads back what the user typed; a `/` in a name
/// is not taken as a path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_drive_names_are_encoded_as_rclone_would() {
    let demo = acdc::launch::demo(SeedSpec::default(), true)
        .await
        .expect("demo");
    let (requests, mut events) = backend::start(BackendOptions {
        session: demo.session.clone(),
        engine: EngineOptions::default(),
        journal_dir: demo.journal_dir(),
    });
    let send = |r: Request| requests.send(r).expect("backend gone");
    send(Request::Connect {
        remote: "demo".into(),
    });
    let root = wait_for(&mut events, |e| match e {
        Event::DriveRoot(id) => Some(id),
        _ => None,
    })
    .await;
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
