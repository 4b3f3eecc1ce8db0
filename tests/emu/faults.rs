//! Fault injection (§11, §14 item 12), switched by flags and at run time through /_emu/.

use std::time::{Duration, Instant};

use acdc::emu::EmuConfig;
use acdc::emu::settings::Faults;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Env, TOKEN, md5_hex};

#[tokio::test]
async fn throttling_server_errors_and_sigv4_403() {
    let env = Env::start().await;
    env.admin("faults", json!({"rate_429": 1.0, "retry_after_secs": 3}))
        .await;
    let a = env.get("account/info").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.json(), json!({"message": "Rate exceeded"}));
    assert_eq!(a.headers["retry-after"], "3");
    // OAuth and the admin API are not throttled.
    assert!(
        env.http
            .get(format!("{}/_emu/stats", env.base()))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );

    env.admin("faults", json!({"rate_429": 0.0, "rate_5xx": 1.0}))
        .await;
    for _ in 0..20 {
        let a = env.get("account/info").await;
        assert!(
            [500, 502, 503, 504].contains(&a.status.as_u16()),
            "{}",
            a.status
        );
        if a.status == StatusCode::GATEWAY_TIMEOUT {
            assert!(a.text.is_empty(), "504s come without a body");
        }
    }
    env.admin("faults", json!({"rate_5xx": 0.0, "rate_403": 1.0}))
        .await;
    let a = env.get("account/info").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("Authorization header requires")
    );

    env.admin("faults", json!({"rate_403": 0.0})).await;
    assert_eq!(env.get("account/info").await.status, StatusCode::OK);
    let stats = env.stats().await;
    assert_eq!(stats["injected_429"], 1);
    assert_eq!(stats["injected_5xx"], 20);
    assert_eq!(stats["injected_403"], 1);
    assert_eq!(stats["by_status"]["429"], 1);
    assert!(stats["by_status"]["200"].as_u64().unwrap() >= 1);
    // Out-of-range rates are refused.
    let r = env
        .http
        .put(format!("{}/_emu/faults", env.base()))
        .body("{\"rate_429\": 2}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_share_of_requests_fails_at_the_configured_rate() {
    let env = Env::with(EmuConfig {
        faults: Faults {
            rate_429: 0.2,
            ..Faults::default()
        },
        fault_seed: Some(42),
        ..EmuConfig::default()
    })
    .await;
    let mut throttled = 0;
    for _ in 0..500 {
        if env.get("account/info").await.status == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
        }
    }
    // 500 draws at p = 0.2: mean 100, sd ≈ 9; a seeded run is repeatable anyway.
    assert!(
        (60..=140).contains(&throttled),
        "{throttled} of 500 throttled"
    );
}

#[tokio::test]
async fn late_upload_answers_504_and_the_node_appears_later() {
    let env = Env::start().await;
    let root = env.root().await;
    env.admin(
        "faults",
        json!({"late_upload": {"min_size": 1000, "status": 504, "delay_ms": 700}}),
    )
    .await;
    let small = env.upload(&root, "small.txt", b"under the threshold").await;
    assert_eq!(small.status, StatusCode::CREATED);
    let bytes = vec![7u8; 5000];
    let late = env.upload(&root, "big.bin", &bytes).await;
    assert_eq!(late.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(late.text.is_empty());
    let lookup = format!("nodes?filters=parents:\"{root}\"+AND+name:\"big.bin\"");
    assert_eq!(env.get(&lookup).await.json()["count"], 0, "not there yet");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = env.get(&lookup).await.json();
        if page["count"] == 1 {
            assert_eq!(page["data"][0]["contentProperties"]["md5"], md5_hex(&bytes));
            assert_eq!(page["data"][0]["contentProperties"]["size"], 5000);
            break;
        }
        assert!(Instant::now() < deadline, "the late upload never appeared");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A client that retried meanwhile wins the name; the late copy does not duplicate it.
    let again = env.upload(&root, "again.bin", &bytes).await;
    assert_eq!(again.status, StatusCode::GATEWAY_TIMEOUT);
    env.admin("faults", json!({"late_upload": null})).await;
    assert_eq!(
        env.upload(&root, "again.bin", &bytes).await.status,
        StatusCode::CREATED
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let page = env
        .get(&format!("nodes?filters=parents:{root}+AND+name:again.bin"))
        .await
        .json();
    assert_eq!(page["count"], 1, "never a duplicate");
    assert_eq!(env.stats().await["late_uploads"], 2);
}

#[tokio::test]
async fn dropped_connections_mid_body() {
    let env = Env::start().await;
    let root = env.root().await;
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let kept = env.upload(&root, "kept.bin", &bytes).await.json();
    env.admin("faults", json!({"drop_rate": 1.0})).await;

    // An upload cut mid-body: the client sees a broken connection and nothing is created.
    let (ct, body) = crate::harness::go_acd_multipart(
        &json!({"name": "cut.bin", "kind": "FILE", "parents": [root]}),
        "cut.bin",
        &bytes,
    );
    let r = env
        .http
        .post(format!("{}nodes?suppress=deduplication", env.content))
        .bearer_auth(TOKEN)
        .header("Content-Type", ct)
        .body(body)
        .send()
        .await;
    assert!(
        r.is_err() || r.unwrap().status().is_client_error(),
        "a cut upload does not succeed"
    );

    // A download cut mid-body: the headers promise more than arrives.
    let r = env
        .http
        .get(format!(
            "{}nodes/{}/content",
            env.content,
            kept["id"].as_str().unwrap()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.is_err(), "the body breaks off");

    env.admin("faults", json!({"drop_rate": 0.0})).await;
    let names: Vec<String> = env
        .children(&root)
        .await
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["kept.bin"]);
    assert_eq!(env.stats().await["dropped_connections"], 2);
    // No half-written blob lingers in the temp folder.
    assert_eq!(
        env.upload(&root, "after.bin", b"fine").await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn latency_and_truncated_changes() {
    let env = Env::start().await;
    env.admin("faults", json!({"latency_ms": 300})).await;
    let started = Instant::now();
    env.get("account/info").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    env.admin("faults", json!({"latency_ms": 0, "truncate_changes": true}))
        .await;
    let a = env
        .call(Method::POST, &format!("{}changes", env.meta), Some("{}"))
        .await;
    assert!(!a.text.contains("\"end\""), "cut before the end marker");
    assert!(a.text.ends_with('\n'));
}

#[tokio::test]
async fn settings_change_at_run_time() {
    let env = Env::start().await;
    let before = env
        .http
        .get(format!("{}/_emu/settings", env.base()))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(before["token_ttl_secs"], 3600);
    assert_eq!(before["direct_download_limit"], 10u64 << 30);
    let after = env.admin("settings", json!({"page_size": 5})).await;
    assert_eq!(after["page_size"], 5);
    assert_eq!(after["token_ttl_secs"], 3600, "other keys untouched");
    let root = env.root().await;
    for i in 0..7 {
        env.mkdir(&root, &format!("{i}")).await;
    }
    let page = env
        .get(&format!("nodes?filters=parents:{root}"))
        .await
        .json();
    assert_eq!(page["data"].as_array().unwrap().len(), 5);
    assert_eq!(page["count"], 7);
    let r = env
        .http
        .put(format!("{}/_emu/settings", env.base()))
        .body("{\"no_such\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
