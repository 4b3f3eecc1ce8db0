//! The transfer engine against acd-emu with its fault switches on.

#[path = "../common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use acdc::auth::TokenSource;
use acdc::config::token::Token;
use acdc::drive::Client;
use acdc::drive::retry::RetryPolicy;
use acdc::emu::oauth::TokenSpec;
use acdc::emu::settings::{Faults, LateUpload, Settings};
use acdc::emu::{self, EmuConfig, EmuServer};
use acdc::transfer::journal::Journal;
use acdc::transfer::state::Phase;
use acdc::transfer::{Command, Engine, EngineOptions, Event, JobId, JobSpec, TransferState};
use md5::{Digest, Md5};
use tokio::sync::mpsc::UnboundedReceiver;

async fn start(config: EmuConfig) -> (EmuServer, Arc<Client>) {
    let mut config = config;
    config.tokens.push(TokenSpec {
        refresh_token: Some("Atzr|engine".into()),
        ..Default::default()
    });
    let server = emu::serve(config).await.unwrap();
    let token = Token {
        access_token: "x".into(),
        token_type: "bearer".into(),
        refresh_token: "Atzr|engine".into(),
        expiry: None,
    };
    let options = common::remote_options(&server, token);
    let auth = Arc::new(TokenSource::new(&options, Arc::new(|_: &Token| Ok(()))).unwrap());
    let retry = RetryPolicy {
        retries: 10,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(100),
    };
    let mut client = Client::connect(&server.endpoint_url(), auth, retry)
        .await
        .unwrap();
    client.upload_wait_poll = Duration::from_millis(500);
    client.upload_wait_per_gb = Duration::from_secs(3600);
    (server, Arc::new(client))
}

fn fast() -> EngineOptions {
    EngineOptions {
        retry_delay: Duration::from_millis(20),
        ..EngineOptions::default()
    }
}

/// Every state each job went through, until the engine drains.
async fn collect(
    events: &mut UnboundedReceiver<Event>,
) -> (HashMap<JobId, Vec<TransferState>>, usize) {
    let mut states: HashMap<JobId, Vec<TransferState>> = HashMap::new();
    let mut progress = 0;
    while let Some(event) = tokio::time::timeout(Duration::from_secs(120), events.recv())
        .await
        .expect("the engine drains")
    {
        match event {
            Event::State { id, state } => states.entry(id).or_default().push(state),
            Event::Progress { .. } => progress += 1,
            Event::Drained => break,
            Event::Added { .. } => {}
        }
    }
    (states, progress)
}

fn write_files(
    dir: &Path,
    count: usize,
    size: impl Fn(usize) -> usize,
) -> Vec<(std::path::PathBuf, String)> {
    std::fs::create_dir_all(dir).unwrap();
    (0..count)
        .map(|i| {
            let bytes: Vec<u8> = (0..size(i))
                .map(|b| ((b * 31 + i * 7) % 251) as u8)
                .collect();
            let path = dir.join(format!("file-{i:04}.bin"));
            std::fs::write(&path, &bytes).unwrap();
            (path, hex::encode(Md5::digest(&bytes)))
        })
        .collect()
}

fn uploads(files: &[(std::path::PathBuf, String)], parent: &str) -> Vec<JobSpec> {
    files
        .iter()
        .map(|(path, _)| JobSpec::Upload {
            local: path.clone(),
            parent: parent.to_string(),
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            size: std::fs::metadata(path).unwrap().len(),
        })
        .collect()
}

fn last(states: &HashMap<JobId, Vec<TransferState>>, id: JobId) -> TransferState {
    states[&id].last().cloned().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn five_hundred_files_through_429s_all_done_none_duplicated() {
    let (server, client) = start(EmuConfig {
        fault_seed: Some(5),
        ..EmuConfig::default()
    })
    .await;
    let root = client.root_id().await.unwrap();
    let folder = client.mkdir(&root, "five hundred").await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let files = write_files(work.path(), 500, |i| 100 + i * 13);
    server
        .emu
        .set_faults(Faults {
            rate_429: 0.2,
            ..Faults::default()
        })
        .unwrap();
    let journal = Journal::open(&work.path().join("journal")).unwrap();
    let log = journal.log_path().to_path_buf();
    let (engine, mut events) = Engine::start(client.clone(), fast(), Some(journal), false);
    let started = Instant::now();
    let ids = engine.add(uploads(&files, &folder.id)).await;
    let (states, progress) = collect(&mut events).await;
    server.emu.set_faults(Faults::default()).unwrap();
    assert_eq!(ids.len(), 500);
    for id in &ids {
        assert_eq!(
            last(&states, *id),
            TransferState::Done,
            "job {id}: {:?}",
            states[id]
        );
    }
    assert!(
        states.values().any(|s| s
            .iter()
            .any(|st| matches!(st, TransferState::Active(Phase::Retrying { .. })))),
        "retries were shown"
    );
    // Count the remote folder: every file once, with the right MD5.
    let listed = client.list_all(&folder.id).await.unwrap();
    assert_eq!(listed.len(), 500);
    let by_name: HashMap<String, String> = listed
        .iter()
        .map(|n| (n.name().to_string(), n.md5().unwrap().to_string()))
        .collect();
    for (path, md5) in &files {
        assert_eq!(
            by_name[&path.file_name().unwrap().to_string_lossy().into_owned()],
            *md5
        );
    }
    // Progress is sampled, not flooded.
    let secs = started.elapsed().as_secs_f64();
    assert!(
        (progress as f64) <= secs * 5.0 + 2.0,
        "{progress} progress events in {secs:.1}s"
    );
    // One log line per finished job, with its MD5.
    let lines = std::fs::read_to_string(log).unwrap();
    assert_eq!(lines.lines().count(), 500);
    assert!(
        lines
            .lines()
            .all(|l| l.contains("\"outcome\":\"done\"") && l.contains("\"md5\":\""))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn late_504s_pass_through_upload_wait_and_end_done() {
    let (server, client) = start(EmuConfig::default()).await;
    let root = client.root_id().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let files = write_files(work.path(), 4, |i| {
        if i % 2 == 0 { (1 << 20) + 1000 } else { 5000 }
    });
    server
        .emu
        .set_faults(Faults {
            late_upload: Some(LateUpload {
                min_size: 1 << 20,
                status: 504,
                delay_ms: 2000,
            }),
            ..Faults::default()
        })
        .unwrap();
    let (engine, mut events) = Engine::start(client.clone(), fast(), None, false);
    let ids = engine.add(uploads(&files, &root)).await;
    let (states, _) = collect(&mut events).await;
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(last(&states, *id), TransferState::Done);
        let waited = states[id]
            .iter()
            .any(|s| matches!(s, TransferState::Active(Phase::UploadWait { .. })));
        assert_eq!(
            waited,
            i % 2 == 0,
            "only the large ones wait: {:?}",
            states[id]
        );
    }
    assert_eq!(
        client.list_all(&root).await.unwrap().len(),
        4,
        "no duplicates"
    );
    let stats = server.emu.stats();
    assert_eq!(stats.by_status.get(&409), None, "no 409s");
    assert_eq!(stats.late_uploads, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_connections_and_templink_downloads() {
    let (server, client) = start(EmuConfig {
        settings: Settings {
            direct_download_limit: 1 << 20,
            ..Settings::default()
        },
        fault_seed: Some(9),
        ..EmuConfig::default()
    })
    .await;
    let root = client.root_id().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let files = write_files(&work.path().join("up"), 30, |i| {
        if i == 0 { 5 << 20 } else { 20_000 + i * 1000 }
    });
    server
        .emu
        .set_faults(Faults {
            drop_rate: 0.1,
            ..Faults::default()
        })
        .unwrap();
    let options = EngineOptions {
        templink_threshold: 1 << 20,
        ..fast()
    };
    let (engine, mut events) = Engine::start(client.clone(), options, None, false);
    let up = engine.add(uploads(&files, &root)).await;
    let (states, _) = collect(&mut events).await;
    assert!(
        up.iter()
            .all(|id| last(&states, *id) == TransferState::Done),
        "{states:?}"
    );
    let down_dir = work.path().join("down");
    std::fs::create_dir_all(&down_dir).unwrap();
    let specs: Vec<JobSpec> = client
        .list_all(&root)
        .await
        .unwrap()
        .into_iter()
        .map(|n| JobSpec::download(&n, down_dir.join(n.name())))
        .collect();
    let down = engine.add(specs).await;
    let (states, _) = collect(&mut events).await;
    for id in &down {
        assert_eq!(last(&states, *id), TransferState::Done, "{:?}", states[id]);
    }
    assert!(
        down.iter()
            .any(|id| states[id].contains(&TransferState::Active(Phase::TempLink))),
        "the 5 MiB file went through a tempLink"
    );
    for (path, md5) in &files {
        let back = std::fs::read(down_dir.join(path.file_name().unwrap())).unwrap();
        assert_eq!(hex::encode(Md5::digest(&back)), *md5);
    }
    assert!(server.emu.stats().dropped_connections > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn pause_concurrency_priority_and_cancel() {
    let (_server, client) = start(EmuConfig {
        faults: Faults {
            latency_ms: 30,
            ..Faults::default()
        },
        ..EmuConfig::default()
    })
    .await;
    let root = client.root_id().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let files = write_files(work.path(), 12, |_| 1000);
    let folders: Vec<String> = {
        let mut v = Vec::new();
        for i in 0..12 {
            v.push(client.mkdir(&root, &format!("f{i}")).await.unwrap().id);
        }
        v
    };
    // Each into its own folder, so the per-folder turns do not serialise them.
    let specs: Vec<JobSpec> = uploads(&files, "")
        .into_iter()
        .zip(&folders)
        .map(|(s, f)| match s {
            JobSpec::Upload {
                local, name, size, ..
            } => JobSpec::Upload {
                local,
                parent: f.clone(),
                name,
                size,
            },
            other => other,
        })
        .collect();
    let (engine, mut events) = Engine::start(client.clone(), fast(), None, false);
    engine.send(Command::Pause);
    let ids = engine.add(specs).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut early = Vec::new();
    while let Ok(e) = events.try_recv() {
        early.push(e);
    }
    assert!(
        early.iter().all(|e| !matches!(
            e,
            Event::State {
                state: TransferState::Active(Phase::Uploading),
                ..
            }
        )),
        "nothing starts while paused"
    );
    engine.send(Command::SetConcurrency(1));
    engine.send(Command::SetPriority(ids[11], 5));
    engine.send(Command::Cancel(ids[5]));
    engine.send(Command::Resume);
    // Watch how many are active at once, and which starts first.
    let mut active = HashMap::<JobId, bool>::new();
    let mut max_active = 0;
    let mut first_started = None;
    let mut finals = HashMap::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(60), events.recv())
        .await
        .unwrap()
    {
        match event {
            Event::State { id, state } => {
                if state.is_active() && first_started.is_none() {
                    first_started = Some(id);
                }
                active.insert(id, state.is_active());
                max_active = max_active.max(active.values().filter(|a| **a).count());
                if state.is_final() {
                    finals.insert(id, state);
                }
            }
            Event::Drained => break,
            _ => {}
        }
    }
    assert_eq!(max_active, 1, "concurrency 1 is respected");
    assert_eq!(
        first_started,
        Some(ids[11]),
        "the raised priority goes first"
    );
    assert_eq!(finals[&ids[5]], TransferState::Cancelled);
    assert_eq!(
        finals
            .values()
            .filter(|s| **s == TransferState::Done)
            .count(),
        11
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_engine_resumes_what_the_journal_left() {
    let (_server, client) = start(EmuConfig::default()).await;
    let root = client.root_id().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let files = write_files(&work.path().join("files"), 10, |i| 3000 + i);
    let journal_dir = work.path().join("journal");
    {
        // The first engine queues everything (paused, so nothing starts) and is dropped.
        let (engine, mut events) = Engine::start(
            client.clone(),
            fast(),
            Some(Journal::open(&journal_dir).unwrap()),
            false,
        );
        engine.send(Command::Pause);
        let ids = engine.add(uploads(&files, &root)).await;
        assert_eq!(ids.len(), 10);
        drop(engine);
        // Its scheduler stops once the last handle is gone.
        tokio::time::timeout(Duration::from_secs(5), async {
            while events.recv().await.is_some() {}
        })
        .await
        .expect("the scheduler stopped");
    }
    assert_eq!(Journal::open(&journal_dir).unwrap().unfinished().len(), 10);
    let (_engine, mut events) = Engine::start(
        client.clone(),
        fast(),
        Some(Journal::open(&journal_dir).unwrap()),
        true,
    );
    let (states, _) = collect(&mut events).await;
    assert_eq!(states.len(), 10);
    assert!(
        states
            .values()
            .all(|s| s.last() == Some(&TransferState::Done))
    );
    assert_eq!(client.list_all(&root).await.unwrap().len(), 10);
    assert!(Journal::open(&journal_dir).unwrap().unfinished().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn conflicts_skip_same_overwrite_or_keep_both() {
    let (_server, client) = start(EmuConfig::default()).await;
    let root = client.root_id().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let same = work.path().join("same.txt");
    let changed = work.path().join("changed.txt");
    std::fs::write(&same, b"identical").unwrap();
    std::fs::write(&changed, b"old").unwrap();
    let (engine, mut events) = Engine::start(client.clone(), fast(), None, false);
    engine
        .add(uploads(
            &[
                (same.clone(), String::new()),
                (changed.clone(), String::new()),
            ],
            &root,
        ))
        .await;
    collect(&mut events).await;
    std::fs::write(&changed, b"new content").unwrap();

    // Default: skip what is the same, overwrite what changed.
    let ids = engine
        .add(uploads(
            &[
                (same.clone(), String::new()),
                (changed.clone(), String::new()),
            ],
            &root,
        ))
        .await;
    let (states, _) = collect(&mut events).await;
    assert!(matches!(
        last(&states, ids[0]),
        TransferState::Skipped { .. }
    ));
    assert!(
        states[&ids[0]].contains(&TransferState::Active(Phase::Hashing)),
        "hashing is shown"
    );
    assert_eq!(last(&states, ids[1]), TransferState::Done);
    let listed = client.list_all(&root).await.unwrap();
    assert_eq!(listed.len(), 2);
    let node = listed.iter().find(|n| n.name() == "changed.txt").unwrap();
    assert_eq!(
        node.md5(),
        Some(hex::encode(Md5::digest(b"new content")).as_str())
    );

    // Rename keeps both.
    let keep = EngineOptions {
        on_conflict: acdc::transfer::ConflictPolicy::Rename,
        ..fast()
    };
    let (engine, mut events) = Engine::start(client.clone(), keep, None, false);
    let ids = engine
        .add(uploads(&[(same.clone(), String::new())], &root))
        .await;
    let (states, _) = collect(&mut events).await;
    assert_eq!(last(&states, ids[0]), TransferState::Done);
    let mut names: Vec<String> = client
        .list_all(&root)
        .await
        .unwrap()
        .iter()
        .map(|n| n.name().to_string())
        .collect();
    names.sort();
    assert_eq!(names, vec!["changed.txt", "same (1).txt", "same.txt"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_expiring_every_5_s_during_a_20_s_transfer() {
    let (server, client) = start(EmuConfig {
        settings: Settings {
            token_ttl_secs: 5,
            ..Settings::default()
        },
        faults: Faults {
            latency_ms: 250,
            ..Faults::default()
        },
        ..EmuConfig::default()
    })
    .await;
    let root = client.root_id().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let files = write_files(work.path(), 40, |i| 2000 + i);
    let (engine, mut events) = Engine::start(client.clone(), fast(), None, false);
    let started = Instant::now();
    let ids = engine.add(uploads(&files, &root)).await;
    let (states, _) = collect(&mut events).await;
    assert!(
        started.elapsed() > Duration::from_secs(20),
        "the transfer outlived several tokens"
    );
    assert!(
        ids.iter()
            .all(|id| last(&states, *id) == TransferState::Done)
    );
    assert!(
        server.emu.stats().token_refreshes >= 4,
        "{:?}",
        server.emu.stats()
    );
}

/// What would only fail later is refused before a byte moves, each with its reason: by the
/// scan (names that differ only in case, names the encoding cannot write, symbolic
/// links) and by the engine (the Drive's file size cap, --max-size).
#[tokio::test(flavor = "multi_thread")]
async fn refused_before_any_byte_moves_each_with_its_reason() {
    use acdc::names::Encoding;
    use acdc::transfer::plan::{Scan, plan_upload};
    use std::os::unix::ffi::OsStrExt;

    let (server, client) = start(EmuConfig::default()).await;
    let root = client.root_id().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    for name in ["Photo.JPG", "photo.jpg", "fine.txt"] {
        std::fs::write(tree.join(name), name).unwrap();
    }
    let not_utf8 = std::ffi::OsStr::from_bytes(b"caf\xE9.txt");
    std::fs::write(tree.join(not_utf8), "latin-1").unwrap();
    std::os::unix::fs::symlink(tree.join("fine.txt"), tree.join("link.txt")).unwrap();

    let cancel = tokio_util::sync::CancellationToken::new();
    let scan = Scan {
        // Without InvalidUtf8 a Latin-1 name has no Drive name.
        encoding: Encoding {
            invalid_utf8: false,
            ..Encoding::DRIVE
        },
        dry_run: false,
        ask_conflicts: false,
        cancel,
        progress: &|_| {},
    };
    let plan = plan_upload(&client, &tree, Some(&root), &scan)
        .await
        .unwrap();
    let planned: Vec<&str> = plan
        .specs
        .iter()
        .map(|s| match s {
            JobSpec::Upload { name, .. } => name.as_str(),
            JobSpec::Download { name, .. } => name.as_str(),
        })
        .collect();
    assert_eq!(planned, ["Photo.JPG", "fine.txt"], "{:?}", plan.problems);
    let said = plan.problems.join("\n");
    assert!(
        said.contains("photo.jpg: name differs only in case from \"Photo.JPG\""),
        "{said}"
    );
    assert!(said.contains("link.txt: skipped: symbolic links"), "{said}");
    assert!(said.contains("caf"), "{said}");
    assert_eq!(plan.problems.len(), 3, "{said}");

    // The engine's own checks, before any request.
    let files = write_files(&work.path().join("sizes"), 3, |i| [20_000, 7_000, 1_000][i]);
    let options = EngineOptions {
        file_size_cap: 10_000,
        max_size: Some(5_000),
        ..fast()
    };
    let (engine, mut events) = Engine::start(client.clone(), options, None, false);
    server.emu.reset_stats();
    let ids = engine.add(uploads(&files, &root)).await;
    let (states, _) = collect(&mut events).await;
    let reason = |id: JobId| match last(&states, id) {
        TransferState::Skipped { reason } => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(reason(ids[0]), "over Amazon Drive's 10 kB file size limit");
    assert_eq!(reason(ids[1]), "larger than --max-size");
    assert_eq!(last(&states, ids[2]), TransferState::Done);
    assert_eq!(server.emu.stats().uploads, 1, "only the small one was sent");
}
