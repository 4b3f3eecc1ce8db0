//! acdc's drive client and token source against acd-emu over real HTTP, faults switched on.

#[path = "../common/mod.rs"]
mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acdc::auth::{AuthError, PersistToken, TokenSource};
use acdc::config::token::Token;
use acdc::drive::observe::{Observer, Phase, Watch, watched};
use acdc::drive::retry::RetryPolicy;
use acdc::drive::{Client, DriveError};
use acdc::emu::oauth::TokenSpec;
use acdc::emu::settings::{Faults, LateUpload, Settings};
use acdc::emu::{self, EmuConfig, EmuServer};
use md5::{Digest, Md5};

struct Setup {
    server: EmuServer,
    client: Client,
    saved: Arc<Mutex<Vec<Token>>>,
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        retries: 10,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(100),
    }
}

/// An emulator plus a client whose access token has already expired (so it refreshes).
async fn setup(config: EmuConfig) -> Setup {
    let mut config = config;
    config.tokens.push(TokenSpec {
        refresh_token: Some("Atzr|client-test".into()),
        ..Default::default()
    });
    let server = emu::serve(config).await.expect("emulator");
    let expired = Token {
        access_token: "Atza|long-gone".into(),
        token_type: "bearer".into(),
        refresh_token: "Atzr|client-test".into(),
        expiry: Some(chrono::Utc::now() - chrono::Duration::hours(1)),
    };
    let saved = Arc::new(Mutex::new(Vec::new()));
    let sink = saved.clone();
    let persist: PersistToken = Arc::new(move |t: &Token| {
        sink.lock().unwrap().push(t.clone());
        Ok(())
    });
    let auth = Arc::new(
        TokenSource::new(&common::remote_options(&server, expired), persist).expect("token source"),
    );
    let mut client = Client::connect(&server.endpoint_url(), auth, fast_retries())
        .await
        .expect("discovery");
    client.upload_wait_poll = Duration::from_millis(100);
    Setup {
        server,
        client,
        saved,
    }
}

fn md5_file(path: &Path) -> String {
    hex::encode(Md5::digest(std::fs::read(path).unwrap()))
}

fn write_random(path: &Path, len: usize, seed: u64) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn metadata_operations_and_paged_listing() {
    let s = setup(EmuConfig::default()).await;
    assert_eq!(
        s.saved.lock().unwrap().len(),
        1,
        "the expired token was refreshed and handed to persistence"
    );
    let c = &s.client;
    let root = c.root_id().await.unwrap();
    let dir = c.mkdir(&root, "Fotos (2016) + [raw]").await.unwrap();
    assert!(matches!(
        c.mkdir(&root, "FOTOS (2016) + [RAW]").await,
        Err(DriveError::NameExists { .. })
    ));
    let same = c
        .ensure_folder(&root, "fotos (2016) + [raw]")
        .await
        .unwrap();
    assert_eq!(same.id, dir.id);
    assert_eq!(
        c.find_child(&root, "Fotos (2016) + [raw]")
            .await
            .unwrap()
            .unwrap()
            .id,
        dir.id
    );
    assert_eq!(c.resolve("/Fotos (2016) + [raw]").await.unwrap().id, dir.id);
    assert!(matches!(
        c.resolve("/nope/deeper").await,
        Err(DriveError::NotFound(_))
    ));

    for i in 0..430 {
        c.mkdir(&dir.id, &format!("sub {i:03}")).await.unwrap();
    }
    let mut pages = c.children(&dir.id);
    let first = pages.next_page().await.unwrap().unwrap();
    assert_eq!(first.len(), 200, "page 1 arrives on its own");
    assert_eq!(c.list_all(&dir.id).await.unwrap().len(), 430);

    let sub = c.find_child(&dir.id, "sub 007").await.unwrap().unwrap();
    let renamed = c.rename(&sub.id, "seven").await.unwrap();
    assert_eq!(renamed.name(), "seven");
    let moved = c.move_node(&sub.id, &dir.id, &root).await.unwrap();
    assert_eq!(moved.parents, vec![root.clone()]);
    let trashed = c.trash(&sub.id).await.unwrap();
    assert_eq!(trashed.status, "TRASH");
    assert!(c.find_child(&root, "seven").await.unwrap().is_none());
    let mut trash = c.trash_pages();
    let in_trash = trash.next_page().await.unwrap().unwrap();
    assert!(in_trash.iter().any(|n| n.id == sub.id));
    c.restore(&sub.id).await.unwrap();
    assert!(c.find_child(&root, "seven").await.unwrap().is_some());
    let quota = c.quota().await.unwrap();
    assert!(quota.quota >= quota.available);
    assert_eq!(c.usage().await.unwrap().total_bytes(), 0);
}

#[tokio::test]
async fn round_trip_under_429s_and_5xx_verifies_every_md5() {
    let s = setup(EmuConfig {
        fault_seed: Some(7),
        ..EmuConfig::default()
    })
    .await;
    let c = &s.client;
    s.server
        .emu
        .set_faults(Faults {
            rate_429: 0.2,
            rate_5xx: 0.05,
            ..Faults::default()
        })
        .unwrap();
    let root = c.root_id().await.unwrap();
    let dir = c.ensure_folder(&root, "faulty").await.unwrap();
    let work = tempfile::tempdir().unwrap();
    for i in 0..40usize {
        let local = work.path().join(format!("f{i}.bin"));
        write_random(&local, i * 5_000 + (i % 3) * 777, i as u64);
        let node = c
            .upload(&dir.id, &format!("f{i}.bin"), &local, None)
            .await
            .unwrap();
        assert_eq!(node.md5(), Some(md5_file(&local).as_str()));
        let back = work.path().join(format!("back{i}.bin"));
        let md5 = c.download(&node, &back, 9 << 30).await.unwrap();
        assert_eq!(md5, md5_file(&local));
        assert!(!acdc::drive::content::partial_path(&back).exists());
    }
    let stats = s.server.emu.stats();
    assert!(
        stats.injected_429 > 10 && stats.injected_5xx > 0,
        "faults were really injected: {stats:?}"
    );
    assert_eq!(
        c.list_all(&dir.id).await.unwrap().len(),
        40,
        "no duplicates"
    );
}

#[tokio::test]
async fn dropped_connections_resume_and_templinks_refresh() {
    let s = setup(EmuConfig {
        settings: Settings {
            direct_download_limit: 1 << 20,
            templink_ttl_secs: 1,
            ..Settings::default()
        },
        fault_seed: Some(3),
        ..EmuConfig::default()
    })
    .await;
    let c = &s.client;
    let root = c.root_id().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let local = work.path().join("five.bin");
    write_random(&local, 5 << 20, 11);
    let node = c.upload(&root, "five.bin", &local, None).await.unwrap();

    // Above the threshold the download goes through a tempLink (a direct one is refused).
    s.server
        .emu
        .set_faults(Faults {
            drop_rate: 0.5,
            latency_ms: 300,
            ..Faults::default()
        })
        .unwrap();
    let back = work.path().join("five-back.bin");
    let md5 = c.download(&node, &back, 1 << 20).await.unwrap();
    assert_eq!(md5, md5_file(&local));
    let stats = s.server.emu.stats();
    // Resumed after the 1 s TTL, the old link was refused and a fresh one fetched.
    assert!(stats.templinks_issued >= 2, "{stats:?}");
    assert!(
        stats.by_status.get(&403).is_some_and(|n| *n >= 1),
        "{stats:?}"
    );

    // Below it, a direct download that keeps being cut resumes with Range.
    let small = work.path().join("small.bin");
    write_random(&small, 900_000, 5);
    s.server.emu.set_faults(Faults::default()).unwrap();
    let node = c.upload(&root, "small.bin", &small, None).await.unwrap();
    s.server
        .emu
        .set_faults(Faults {
            drop_rate: 0.7,
            ..Faults::default()
        })
        .unwrap();
    let back = work.path().join("small-back.bin");
    assert_eq!(
        c.download(&node, &back, 9 << 30).await.unwrap(),
        md5_file(&small)
    );
}

/// Records the phases a transfer reports.
#[derive(Default)]
struct Recorder(Mutex<Vec<Phase>>);

impl Observer for Recorder {
    fn phase(&self, phase: Phase) {
        self.0.lock().unwrap().push(phase);
    }
}

#[tokio::test]
async fn late_upload_waits_and_is_found_not_duplicated() {
    let s = setup(EmuConfig::default()).await;
    let c = &s.client;
    s.server
        .emu
        .set_faults(Faults {
            late_upload: Some(LateUpload {
                min_size: 1 << 20,
                status: 504,
                delay_ms: 250,
            }),
            ..Faults::default()
        })
        .unwrap();
    let root = c.root_id().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let local = work.path().join("late.bin");
    write_random(&local, 2 << 20, 9);
    let recorder = Arc::new(Recorder::default());
    let bytes = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let watch = Watch {
        observer: recorder.clone(),
        bytes: bytes.clone(),
    };
    let node = watched(watch, c.upload(&root, "late.bin", &local, None))
        .await
        .unwrap();
    assert_eq!(node.md5(), Some(md5_file(&local).as_str()));
    assert_eq!(
        c.list_all(&root).await.unwrap().len(),
        1,
        "one file, not two"
    );
    let phases = recorder.0.lock().unwrap().clone();
    assert_eq!(phases.first(), Some(&Phase::Uploading));
    assert!(
        phases
            .iter()
            .any(|p| matches!(p, Phase::UploadWait { poll: 1, .. })),
        "{phases:?}"
    );
    assert_eq!(phases.last(), Some(&Phase::Verifying));
    assert!(
        !phases.iter().any(|p| matches!(p, Phase::Retrying { .. })),
        "found by waiting, not by sending again: {phases:?}"
    );
    assert_eq!(bytes.load(std::sync::atomic::Ordering::Relaxed), 2 << 20);
    assert_eq!(s.server.emu.stats().uploads, 1, "the body went up once");
}

#[tokio::test]
async fn expiring_and_revoked_tokens() {
    let s = setup(EmuConfig {
        settings: Settings {
            token_ttl_secs: 1,
            ..Settings::default()
        },
        ..EmuConfig::default()
    })
    .await;
    let c = &s.client;
    let root = c.root_id().await.unwrap();
    for i in 0..4 {
        c.mkdir(&root, &format!("t{i}")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    assert!(
        s.saved.lock().unwrap().len() >= 2,
        "tokens refreshed transparently and persisted"
    );
    // Forced expiry: the 401 triggers a refresh and the call is replayed.
    s.server
        .emu
        .with_store(|st| acdc::emu::oauth::expire_all(st))
        .unwrap();
    c.mkdir(&root, "after-expiry").await.unwrap();
    // Revoked: a clear message saying how to re-authorize.
    s.server
        .emu
        .with_store(|st| acdc::emu::oauth::revoke(st, None))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let err = c.mkdir(&root, "never").await.unwrap_err();
    assert!(
        matches!(err, DriveError::Auth(AuthError::Revoked { .. })),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("acdc config reconnect emu:"),
        "{err}"
    );
}

#[tokio::test]
async fn a_listing_longer_than_the_token_refreshes_midway() {
    let s = setup(EmuConfig::default()).await;
    let c = &s.client;
    let root = c.root_id().await.unwrap();
    let dir = c.mkdir(&root, "long").await.unwrap();
    for i in 0..450 {
        c.mkdir(&dir.id, &format!("{i}")).await.unwrap();
    }
    let before = s.saved.lock().unwrap().len();
    let mut settings = s.server.emu.settings();
    settings.token_ttl_secs = 1;
    s.server.emu.set_settings(settings);
    s.server
        .emu
        .with_store(|st| acdc::emu::oauth::expire_all(st))
        .unwrap();
    s.server
        .emu
        .set_faults(Faults {
            latency_ms: 700,
            ..Faults::default()
        })
        .unwrap();
    assert_eq!(c.list_all(&dir.id).await.unwrap().len(), 450);
    assert!(
        s.saved.lock().unwrap().len() >= before + 2,
        "refreshed during the listing"
    );
}

#[tokio::test]
async fn changes_feed_from_a_checkpoint() {
    let s = setup(EmuConfig::default()).await;
    let c = &s.client;
    let root = c.root_id().await.unwrap();
    c.mkdir(&root, "a").await.unwrap();
    let mut feed = c.changes(None, true).await.unwrap();
    let mut checkpoint = None;
    let mut seen = 0;
    let mut first = true;
    while let Some(set) = feed.next_set().await.unwrap() {
        assert_eq!(set.reset, first, "reset on the first set only");
        first = false;
        seen += set.nodes.len();
        checkpoint = set.checkpoint.clone();
    }
    assert!(feed.complete());
    assert_eq!(seen, 2, "root and a");
    let b = c.mkdir(&root, "b").await.unwrap();
    let mut feed = c.changes(checkpoint.as_deref(), true).await.unwrap();
    let set = feed.next_set().await.unwrap().unwrap();
    assert_eq!(set.nodes.len(), 1);
    assert_eq!(set.nodes[0].id, b.id);
    assert!(feed.next_set().await.unwrap().is_none());
    // A stream cut before its end is reported as incomplete.
    s.server
        .emu
        .set_faults(Faults {
            truncate_changes: true,
            ..Faults::default()
        })
        .unwrap();
    let mut feed = c.changes(set.checkpoint.as_deref(), true).await.unwrap();
    while feed.next_set().await.unwrap().is_some() {}
    assert!(!feed.complete());
}

#[tokio::test]
async fn cached_endpoints_that_stopped_answering_are_discovered_again() {
    let s = setup(EmuConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = acdc::drive::endpoint_cache::EndpointCache::new(dir.path().join("endpoints.json"));
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    cache.put(
        "k",
        &acdc::drive::model::Endpoints {
            metadata_url: format!("http://{dead}/drive/v1/"),
            content_url: format!("http://{dead}/cdproxy/"),
            customer_exists: true,
        },
    );
    let token = Token {
        access_token: "x".into(),
        token_type: "bearer".into(),
        refresh_token: "Atzr|client-test".into(),
        expiry: Some(chrono::Utc::now() - chrono::Duration::hours(1)),
    };
    let auth = Arc::new(
        TokenSource::new(
            &common::remote_options(&s.server, token),
            Arc::new(|_: &Token| Ok(())),
        )
        .unwrap(),
    );
    let client = Client::connect_cached(
        &s.server.endpoint_url(),
        auth,
        fast_retries(),
        Some((&cache, "k")),
    )
    .await
    .unwrap();
    assert!(client.endpoints().metadata_url.starts_with(s.server.url()));
    assert_eq!(
        cache.get("k").unwrap().metadata_url,
        client.endpoints().metadata_url,
        "the cache was corrected"
    );
    client.root_id().await.unwrap();
}
