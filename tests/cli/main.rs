//! The `acdc` binary end to end against acd-emu: a 200-file tree with hard names up and
//! back down (every MD5 and every name must match), under faults too, the listing commands
//! and their formats, exit codes, and the config file being updated like rclone would.

mod authorize;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use acdc::emu::oauth::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TokenSpec};
use acdc::emu::settings::Faults;
use acdc::emu::{self, EmuConfig, EmuServer};
use md5::{Digest, Md5};

struct Env {
    server: EmuServer,
    config: PathBuf,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let server = emu::serve(EmuConfig {
        tokens: vec![TokenSpec {
            refresh_token: Some("Atzr|cli".into()),
            ..Default::default()
        }],
        fault_seed: Some(1),
        ..EmuConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("acdc.conf");
    // An expired token: the first command refreshes it and writes it back.
    std::fs::write(
        &config,
        format!(
            "# test remotes\n[emu]\ntype = amazon cloud drive\nclient_id = {DEFAULT_CLIENT_ID}\nclient_secret = {DEFAULT_CLIENT_SECRET}\n\
             token_url = {url}/auth/o2/token\nauth_url = {url}/ap/oa\nendpoint_url = {url}/drive/v1/account/endpoint\n\
             token = {{\"access_token\":\"Atza|old\",\"token_type\":\"bearer\",\"refresh_token\":\"Atzr|cli\",\"expiry\":\"2001-01-01T00:00:00Z\"}}\n\n\
             [other]\ntype = s3\nregion = eu-west-1\n",
            url = server.url()
        ),
    )
    .unwrap();
    Env {
        server,
        config,
        _dir: dir,
    }
}

async fn run(env: &Env, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let config = env.config.clone();

    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_acdc"))
            .env("ACDC_DATA_DIR", config.with_file_name("data"))
            .arg("--config")
            .arg(&config)
            .args(["--low-level-retries", "12"])
            .args(&args)
            .output()
            .expect("acdc runs")
    })
    .await
    .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Names a user's disk can hold that are hard for a Drive client.
fn hard_names() -> Vec<OsString> {
    let text = [
        "plain.txt",
        "with space.txt",
        "  leading and trailing  ",
        "naïve café.txt",
        "Ærøskøbing.md",
        "東京タワー.jpg",
        "写真 (1).png",
        "🎉 party 🎂.txt",
        "emoji-only-🙂",
        "slash／in name.txt",
        "．",
        "．．",
        "trail．",
        "...",
        ".hidden",
        "tab\tname.txt",
        "back\\slash",
        "colon:star*?.txt",
        "quote\"s'.txt",
        "nul␀symbol.txt",
        "brackets [1] {2} (3).txt",
        "percent %20 plus+.txt",
        "ampersand & pipe | caret ^",
        "UPPER.TXT",
        "dir-like.",
        "a",
    ];
    let mut names: Vec<OsString> = text.iter().map(OsString::from).collect();
    for raw in [
        &b"bad\xFF.bin"[..],
        b"bad\xC3(two.bin",
        b"\xE2\x82truncated",
        b"latin1-\xE9t\xE9.txt",
    ] {
        names.push(OsString::from_vec(raw.to_vec()));
    }
    names
}

fn content(i: usize) -> Vec<u8> {
    // Mostly small, some empty, a few up to 20 MiB.
    let len = match i % 50 {
        0 => 0,
        7 => 20 << 20,
        23 => 3 << 20,
        _ => (i * 7919) % 70_000,
    };
    let mut state = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// 200 files in nested folders whose names are hard too.
fn make_tree(root: &Path) -> BTreeMap<PathBuf, String> {
    let names = hard_names();
    let folders = [
        PathBuf::from(""),
        PathBuf::from("sub folder"),
        PathBuf::from("sub folder/深い 🌲"),
        PathBuf::from("．．/x"),
    ];
    let mut files = BTreeMap::new();
    for i in 0..200 {
        let folder = &folders[i % folders.len()];
        let mut name = names[i % names.len()].clone();
        if i >= names.len() {
            name.push(format!(" #{i}"));
        }
        let rel = folder.join(&name);
        std::fs::create_dir_all(root.join(folder)).unwrap();
        let bytes = content(i);
        std::fs::write(root.join(&rel), &bytes).unwrap();
        files.insert(rel, hex::encode(Md5::digest(&bytes)));
    }
    files
}

fn read_tree(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                assert!(
                    !rel.as_os_str().as_bytes().ends_with(b".acdc-partial"),
                    "partial left: {rel:?}"
                );
                out.insert(rel, hex::encode(Md5::digest(std::fs::read(&path).unwrap())));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_files_round_trip_with_hard_names_even_under_faults() {
    let env = env().await;
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let expected = make_tree(&src);
    assert_eq!(expected.len(), 200);

    let up = run(
        &env,
        &[
            "copy",
            src.to_str().unwrap(),
            "emu:backup/2016",
            "--transfers",
            "4",
            "--progress",
        ],
    )
    .await;
    ok(&up);
    let said = String::from_utf8_lossy(&up.stderr);
    // The scan showed its counts, and the summary counts every file verified.
    assert!(said.contains("scanning: "), "{said}");
    assert!(
        said.contains("Transferred: 200 files") && said.contains("verified: 200;"),
        "{said}"
    );
    // One JSON line per finished transfer beside the journal, with its MD5.
    let log = env
        .config
        .with_file_name("data")
        .join("queues/emu/transfers.jsonl");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 200);
    let mut checked = 0;
    for line in &lines {
        assert_eq!(line["outcome"], "done", "{line}");
        assert_eq!(line["direction"], "upload", "{line}");
        assert!(line["retries"].is_u64() && line["waits"].is_u64(), "{line}");
        // A path that is not UTF-8 is logged readably, not exactly: those cannot be read back.
        let path = PathBuf::from(line["path"].as_str().unwrap());
        if let Ok(bytes) = std::fs::read(&path) {
            assert_eq!(
                line["md5"],
                hex::encode(Md5::digest(&bytes)).as_str(),
                "{line}"
            );
            assert_eq!(line["bytes"], bytes.len(), "{line}");
            checked += 1;
        }
    }
    let utf8 = expected.keys().filter(|p| p.to_str().is_some()).count();
    assert_eq!(checked, utf8, "every UTF-8 path was logged exactly");
    let down = work.path().join("down");
    ok(&run(&env, &["copy", "emu:backup/2016", down.to_str().unwrap()]).await);
    assert_eq!(
        read_tree(&down),
        expected,
        "every name and every MD5 came back"
    );

    // The Drive holds the names rclone would have given these files.
    let emu = &env.server.emu;
    let names: Vec<String> = emu
        .with_store(|s| s.list(None, "n.kind = 'FILE'", &[], "n.n ASC", 0, 1000))
        .unwrap()
        .0
        .into_iter()
        .filter_map(|n| n.name)
        .collect();
    for wire in [
        "bad‛FF.bin",
        "bad‛C3(two.bin",
        "slash／in name.txt",
        "．",
        "nul␀symbol.txt",
        "tab\tname.txt",
    ] {
        assert!(names.iter().any(|n| n == wire), "{wire:?} on the Drive");
    }

    // A second copy moves nothing.
    let again = run(&env, &["copy", src.to_str().unwrap(), "emu:backup/2016"]).await;
    ok(&again);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("Transferred: 0 files"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // The refreshed token went back into the config, touching nothing else.
    let config = std::fs::read_to_string(&env.config).unwrap();
    assert!(config.starts_with("# test remotes\n[emu]\n"));
    assert!(!config.contains("Atza|old"));
    assert!(config.contains("[other]\ntype = s3\nregion = eu-west-1\n"));

    // With 20% 429s and 5% 5xx the round trip still succeeds, every MD5 verified.
    emu.set_faults(Faults {
        rate_429: 0.2,
        rate_5xx: 0.05,
        ..Faults::default()
    })
    .unwrap();
    ok(&run(
        &env,
        &[
            "copy",
            src.to_str().unwrap(),
            "emu:faulty",
            "--transfers",
            "8",
        ],
    )
    .await);
    let down2 = work.path().join("down2");
    ok(&run(
        &env,
        &[
            "copy",
            "emu:faulty",
            down2.to_str().unwrap(),
            "--transfers",
            "8",
        ],
    )
    .await);
    emu.set_faults(Faults::default()).unwrap();
    assert_eq!(read_tree(&down2), expected);
    let stats = emu.stats();
    assert!(
        stats.injected_429 > 50 && stats.injected_5xx > 5,
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_commands_formats_and_exit_codes() {
    let env = env().await;
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("t");
    std::fs::create_dir_all(src.join("dir")).unwrap();
    std::fs::write(src.join("a b.txt"), b"hello\n").unwrap();
    std::fs::write(src.join("dir/c.bin"), vec![7u8; 1234]).unwrap();
    ok(&run(&env, &["copy", src.to_str().unwrap(), "emu:t"]).await);
    ok(&run(&env, &["mkdir", "emu:t/empty/deeper"]).await);

    let lsd = ok(&run(&env, &["lsd", "emu:t"]).await);
    assert!(
        lsd.lines()
            .any(|l| l.starts_with("          -1 ") && l.ends_with(" dir")),
        "{lsd}"
    );
    let ls = ok(&run(&env, &["ls", "emu:t"]).await);
    assert_eq!(ls, "        6 a b.txt\n     1234 dir/c.bin\n");
    let lsf = ok(&run(&env, &["lsf", "-R", "emu:t"]).await);
    assert_eq!(lsf, "a b.txt\ndir/\ndir/c.bin\nempty/\nempty/deeper/\n");
    let md5 = ok(&run(&env, &["md5sum", "emu:t"]).await);
    assert!(
        md5.starts_with("b1946ac92492d2347c6235b4d2611184  a b.txt\n"),
        "{md5}"
    );
    let about = ok(&run(&env, &["about", "emu:"]).await);
    assert!(
        about.contains("Total:") && about.contains("Used:"),
        "{about}"
    );

    ok(&run(&env, &["moveto", "emu:t/a b.txt", "emu:t/dir/renamed.txt"]).await);
    assert_eq!(
        ok(&run(&env, &["lsf", "emu:t/dir"]).await),
        "c.bin\nrenamed.txt\n"
    );
    ok(&run(&env, &["trash", "emu:t/dir/c.bin"]).await);
    assert_eq!(ok(&run(&env, &["lsf", "emu:t/dir"]).await), "renamed.txt\n");
    ok(&run(&env, &["restore", "emu:t/dir/c.bin"]).await);
    assert_eq!(
        ok(&run(&env, &["lsf", "emu:t/dir"]).await),
        "c.bin\nrenamed.txt\n"
    );

    let list = ok(&run(&env, &["config", "list"]).await);
    assert_eq!(list, "emu: amazon cloud drive\nother: s3\n");
    let show = ok(&run(&env, &["config", "show", "emu"]).await);
    assert!(
        show.contains("token = (set, hidden)") && !show.contains("Atzr|cli"),
        "{show}"
    );

    // Exit codes a script can rely on, errors in one line.
    let missing = run(&env, &["ls", "emu:nope/nothing"]).await;
    assert_eq!(missing.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&missing.stderr).lines().count(), 1);
    assert_eq!(
        run(&env, &["ls", "nosuchremote:x"]).await.status.code(),
        Some(7)
    );
    assert_eq!(run(&env, &["ls", "other:x"]).await.status.code(), Some(7));
    assert_eq!(run(&env, &["lsd"]).await.status.code(), Some(1));
    assert_eq!(
        run(&env, &["copy", "emu:t", "emu:u"]).await.status.code(),
        Some(1)
    );
    // A revoked refresh token: one clear line on how to re-authorize.
    env.server
        .emu
        .with_store(|s| acdc::emu::oauth::revoke(s, None))
        .unwrap();
    let revoked = run(&env, &["ls", "emu:t"]).await;
    assert_eq!(revoked.status.code(), Some(7));
    let err = String::from_utf8_lossy(&revoked.stderr);
    assert!(err.contains("acdc config reconnect emu:"), "{err}");
    let version = run(&env, &["--version"]).await;
    assert!(ok(&version).starts_with("acdc "));
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_mid_queue_then_resumed_leaves_nothing_half_written() {
    let env = env().await;
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut expected = BTreeMap::new();
    for i in 0..30 {
        let bytes = content(i * 50 + 1)
            .into_iter()
            .chain(std::iter::repeat_n(i as u8, 300_000))
            .collect::<Vec<u8>>();
        std::fs::write(src.join(format!("part {i:02}.bin")), &bytes).unwrap();
        expected.insert(
            PathBuf::from(format!("part {i:02}.bin")),
            hex::encode(Md5::digest(&bytes)),
        );
    }
    ok(&run(&env, &["copy", src.to_str().unwrap(), "emu:k"]).await);
    // Slow downloads, so the kill lands mid-queue and mid-file.
    env.server
        .emu
        .set_faults(Faults {
            latency_ms: 150,
            ..Faults::default()
        })
        .unwrap();
    let dst = work.path().join("dst");
    let mut child = Command::new(env!("CARGO_BIN_EXE_acdc"))
        .env("ACDC_DATA_DIR", env.config.with_file_name("data"))
        .args([
            "--config",
            env.config.to_str().unwrap(),
            "copy",
            "emu:k",
            dst.to_str().unwrap(),
            "--transfers",
            "2",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let done = std::fs::read_dir(&dst)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| !e.file_name().to_string_lossy().ends_with(".acdc-partial"))
                    .count()
            })
            .unwrap_or(0);
        if done >= 4 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "downloads never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Every file under its final name is complete and verified; the rest are partials.
    let mut complete = 0;
    for entry in std::fs::read_dir(&dst).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".acdc-partial") {
            complete += 1;
            let md5 = hex::encode(Md5::digest(std::fs::read(entry.path()).unwrap()));
            assert_eq!(
                expected[&PathBuf::from(&name)],
                md5,
                "{name} is complete under its final name"
            );
        }
    }
    assert!(complete < 30, "the kill came before the end");
    let journal_dir = env.config.with_file_name("data").join("queues/emu");
    let left = acdc::transfer::journal::Journal::open(&journal_dir)
        .unwrap()
        .unfinished()
        .len();
    assert_eq!(left, 30 - complete, "the journal knows what is unfinished");
    env.server.emu.set_faults(Faults::default()).unwrap();
    let resumed = run(&env, &["copy", "--resume"]).await;
    ok(&resumed);
    assert!(
        String::from_utf8_lossy(&resumed.stderr).contains("resuming"),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(
        read_tree(&dst),
        expected,
        "the resumed run finished the rest"
    );
}
