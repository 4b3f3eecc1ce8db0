//! acd-emu throughput on loopback: `GET nodes/{id}` and 200-entry children pages.
//! Run: `cargo bench --bench emu_throughput` (optionally `-- SECONDS CONNECTIONS`).
//! Prints requests/s; the goal for GET nodes/{id} is ≥ 5,000/s on a 2-core machine.
//! Client and server share the machine, as they do when acdc talks to the emulator.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use acdc::emu::{self, EmuConfig, oauth::TokenSpec};

const TOKEN: &str = "Atza|bench";

async fn hammer(urls: Arc<Vec<String>>, seconds: u64, connections: usize) -> (u64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let (urls, done, failed) = (urls.clone(), done.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut i = worker;
            while Instant::now() < deadline {
                let url = &urls[i % urls.len()];
                i += connections;
                match http.get(url).bearer_auth(TOKEN).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    (done.load(Ordering::Relaxed), failed.load(Ordering::Relaxed))
}

#[tokio::main]
async fn main() {
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let seconds = numbers.first().copied().unwrap_or(5);
    let connections = numbers.get(1).copied().unwrap_or(16) as usize;

    let server = emu::serve(EmuConfig {
        tokens: vec![TokenSpec {
            access_token: Some(TOKEN.into()),
            expires_in: Some(86_400),
            ..Default::default()
        }],
        ..EmuConfig::default()
    })
    .await
    .expect("emulator starts");
    let meta = format!("{}/drive/v1/", server.url());
    let http = reqwest::Client::new();
    let root: serde_json::Value = http
        .get(format!("{meta}nodes?filters=isRoot:true"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("root")
        .json()
        .await
        .expect("root JSON");
    let root = root["data"][0]["id"].as_str().expect("root id").to_string();

    // 1,000 folders: GET nodes/{id} cycles over them; children pages list 200 of them.
    let mut ids = Vec::new();
    for i in 0..1000 {
        let node: serde_json::Value = http
            .post(format!("{meta}nodes"))
            .bearer_auth(TOKEN)
            .body(serde_json::json!({"name": format!("folder {i:04}"), "kind": "FOLDER", "parents": [root]}).to_string())
            .send()
            .await
            .expect("mkdir")
            .json()
            .await
            .expect("mkdir JSON");
        ids.push(node["id"].as_str().expect("id").to_string());
    }

    println!(
        "acd-emu throughput, {seconds} s per run, {connections} connections, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let urls: Vec<String> = ids.iter().map(|id| format!("{meta}nodes/{id}")).collect();
    let (ok, failed) = hammer(Arc::new(urls), seconds, connections).await;
    println!(
        "GET nodes/{{id}}:              {:>8.0} req/s  ({ok} ok, {failed} failed)",
        ok as f64 / seconds as f64
    );

    let urls = vec![format!("{meta}nodes/{root}/children?limit=200")];
    let (ok, failed) = hammer(Arc::new(urls), seconds, connections).await;
    println!(
        "GET children (200-entry page): {:>8.0} req/s  ({ok} ok, {failed} failed)",
        ok as f64 / seconds as f64
    );
    server.shutdown().await;
}
