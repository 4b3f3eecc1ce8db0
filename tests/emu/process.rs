//! The acd-emu binary as a process: its first line, clean shutdown on SIGTERM, data that
//! survives a restart, flag errors; and the demo seed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use acdc::emu::EmuConfig;
use acdc::emu::seed::SeedSpec;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Env, go_acd_multipart, md5_hex};

struct Running {
    child: Child,
    url: String,
}

fn start(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_acd-emu"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("acd-emu starts");
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut first).expect("first line");
    // Keep reading what else it prints, as a supervising script would.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line was {first:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(url.rsplit(':').next().unwrap().parse::<u16>().unwrap() > 0);
    Running { child, url }
}

/// GET with the persisted test token, as JSON.
async fn get_json(http: &reqwest::Client, url: String) -> serde_json::Value {
    let r = http
        .get(url)
        .bearer_auth("Atza|persist")
        .send()
        .await
        .expect("request");
    r.json().await.expect("JSON")
}

fn terminate(mut running: Running) {
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = running.child.wait().expect("acd-emu exits");
    assert!(exit.success(), "clean exit on SIGTERM, got {exit}");
}

#[tokio::test]
async fn uploads_survive_a_restart_with_the_same_data_folder() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let http = crate::harness::client();
    let bytes: Vec<u8> = (0..123_457u32).map(|i| (i * 7 % 256) as u8).collect();

    let emu = start(&["--data", dir, "--access-token", "Atza|persist"]);
    let root: serde_json::Value = get_json(
        &http,
        format!("{}/drive/v1/nodes?filters=isRoot:true", emu.url),
    )
    .await;
    let root_id = root["data"][0]["id"].as_str().unwrap().to_string();
    let (ct, body) = go_acd_multipart(
        &json!({"name": "kept.bin", "kind": "FILE", "parents": [root_id]}),
        "kept.bin",
        &bytes,
    );
    let node: serde_json::Value = http
        .post(format!("{}/cdproxy/nodes?suppress=deduplication", emu.url))
        .bearer_auth("Atza|persist")
        .header("Content-Type", ct)
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = node["id"].as_str().unwrap().to_string();
    terminate(emu);

    // Same folder, new process, new port: same root, same file, same bytes; the token persisted.
    let emu = start(&["--data", dir]);
    let again: serde_json::Value =
        get_json(&http, format!("{}/drive/v1/nodes/{id}", emu.url)).await;
    assert_eq!(again["contentProperties"]["md5"], md5_hex(&bytes));
    assert_eq!(again["parents"][0], root_id.as_str());
    let content = http
        .get(format!("{}/cdproxy/nodes/{id}/content", emu.url))
        .bearer_auth("Atza|persist")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(md5_hex(&content), md5_hex(&bytes));
    terminate(emu);
}

#[tokio::test]
async fn flags_configure_faults_and_bad_flags_are_explained() {
    let emu = start(&["--rate-429", "1", "--access-token", "Atza|f"]);
    let r = crate::harness::client()
        .get(format!("{}/drive/v1/account/info", emu.url))
        .bearer_auth("Atza|f")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    terminate(emu);

    for bad in [
        ["--rate-5xx", "1.5"],
        ["--token-ttl", "soon"],
        ["--client", "only-an-id"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_acd-emu"))
            .args(bad)
            .output()
            .expect("runs");
        assert!(!out.status.success(), "{bad:?} is refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(bad[0]) || err.contains(bad[1]),
            "the message names the problem: {err}"
        );
    }
}

#[tokio::test]
async fn the_demo_seed() {
    let env = Env::with(EmuConfig {
        seed: Some(SeedSpec {
            big_file_size: 3_000_000,
            many_entries: 5_000,
        }),
        ..EmuConfig::default()
    })
    .await;
    let root = env.root().await;
    let top: Vec<String> = env
        .children(&root)
        .await
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    for expected in [
        "Documents",
        "Photos",
        "Music",
        "Videos",
        "日本語のフォルダ",
        "Emoji 🎉 party",
        "Logs (5000 files)",
    ] {
        assert!(top.contains(&expected.to_string()), "{expected} in {top:?}");
    }
    let logs = env
        .get(&format!(
            "nodes?filters=parents:{root}+AND+name:\"Logs\\ \\(5000\\ files\\)\""
        ))
        .await
        .json();
    let logs_id = logs["data"][0]["id"].as_str().unwrap();
    assert_eq!(
        env.get(&format!("nodes/{logs_id}/children")).await.json()["count"],
        5000
    );
    let videos = env
        .get(&format!("nodes?filters=parents:{root}+AND+name:Videos"))
        .await
        .json();
    let video = env
        .get(&format!(
            "nodes/{}/children",
            videos["data"][0]["id"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(video["data"][0]["contentProperties"]["size"], 3_000_000);
    let trash = env.get("trash").await.json();
    assert_eq!(trash["count"], 2);
    let photos = env
        .get("nodes?filters=contentProperties.contentType:image*")
        .await
        .json();
    assert!(photos["count"].as_u64().unwrap() >= 4);
    // Seeding is for an empty Drive only: a second seed on the same data adds nothing.
    let before = env.stats().await["nodes"].clone();
    acdc::emu::seed::seed(
        &env.server.emu,
        &SeedSpec {
            big_file_size: 10,
            many_entries: 1,
        },
    )
    .unwrap();
    assert_eq!(env.stats().await["nodes"], before);
}
