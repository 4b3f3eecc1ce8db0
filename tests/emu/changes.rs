//! §10: the changes stream, byte for byte.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::Env;

/// POSTs to changes and splits the body the way acd_cli does (on `\n`).
async fn changes(env: &Env, body: &str) -> (String, Vec<Value>) {
    let a = env
        .call(Method::POST, &format!("{}changes", env.meta), Some(body))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let parts = a
        .text
        .split('\n')
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    (a.text, parts)
}

fn assert_set(set: &Value) {
    for key in ["checkpoint", "nodes", "reset", "statusCode"] {
        assert!(set.get(key).is_some(), "change set lacks {key}: {set}");
    }
    assert_eq!(set["statusCode"], 200);
}

fn ids(sets: &[Value]) -> Vec<String> {
    sets.iter()
        .filter_map(|s| s.get("nodes"))
        .flat_map(|n| {
            n.as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_string())
        })
        .collect()
}

#[tokio::test]
async fn snapshot_then_increments_then_up_to_date() {
    let env = Env::start().await;
    let root = env.root().await;
    let a = env.mkdir(&root, "a").await;
    env.upload(a["id"].as_str().unwrap(), "f.txt", b"f").await;

    // No checkpoint: a full snapshot, reset on the first set only, end without newline.
    let (text, sets) = changes(&env, "").await;
    assert!(text.ends_with("{\"end\":true}"), "{text:?}");
    assert_eq!(sets.last().unwrap(), &json!({"end": true}));
    let body_sets = &sets[..sets.len() - 1];
    body_sets.iter().for_each(assert_set);
    assert_eq!(body_sets[0]["reset"], true);
    assert!(body_sets[1..].iter().all(|s| s["reset"] == false));
    assert_eq!(ids(body_sets).len(), 3, "root, folder and file");
    let checkpoint = body_sets.last().unwrap()["checkpoint"]
        .as_str()
        .unwrap()
        .to_string();

    // Up to date: exactly one empty set, then the end (two parts when split on \n).
    let body = format!("{{\"checkpoint\":\"{checkpoint}\",\"includePurged\":\"true\"}}\n");
    let (text, sets) = changes(&env, &body).await;
    assert_eq!(sets.len(), 2, "{text:?}");
    assert_set(&sets[0]);
    assert_eq!(sets[0]["nodes"], json!([]));
    assert_eq!(sets[0]["reset"], false);

    // One change: only that node, with its latest state once.
    let b = env.mkdir(&root, "b").await;
    env.call(
        Method::PATCH,
        &format!("{}nodes/{}", env.meta, b["id"].as_str().unwrap()),
        Some("{\"name\":\"b2\"}"),
    )
    .await;
    let (_, sets) = changes(&env, &format!("{{\"checkpoint\":\"{checkpoint}\"}}")).await;
    let nodes: Vec<&Value> = sets
        .iter()
        .filter_map(|s| s.get("nodes"))
        .flat_map(|n| n.as_array().unwrap())
        .collect();
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0]["name"], "b2");
    assert_eq!(sets[0]["reset"], false);

    // A checkpoint this server never issued: a reset.
    let (_, sets) = changes(&env, "{\"checkpoint\":\"CIGmnr2yKxoA\"}").await;
    assert_eq!(sets[0]["reset"], true);
}

#[tokio::test]
async fn chunks_max_nodes_and_purged() {
    let env = Env::start().await;
    let root = env.root().await;
    for i in 0..10 {
        env.mkdir(&root, &format!("d{i}")).await;
    }
    let (_, sets) = changes(&env, "{\"chunkSize\":3}").await;
    let sizes: Vec<usize> = sets
        .iter()
        .filter_map(|s| s.get("nodes"))
        .map(|n| n.as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![3, 3, 3, 2], "11 nodes in chunks of 3");

    // maxNodes ends the stream early; the checkpoint then resumes where it stopped.
    let (_, sets) = changes(&env, "{\"chunkSize\":2,\"maxNodes\":\"4\"}").await;
    assert_eq!(ids(&sets).len(), 4);
    assert_eq!(sets.last().unwrap(), &json!({"end": true}));
    let cp = sets[sets.len() - 2]["checkpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, rest) = changes(&env, &format!("{{\"checkpoint\":\"{cp}\"}}")).await;
    assert_eq!(ids(&rest).len(), 7);
    assert_eq!(rest[0]["reset"], false);

    // Trashed nodes are reported with their status; includePurged accepts a bool too.
    let (_, latest) = changes(&env, &format!("{{\"checkpoint\":\"{cp}\"}}")).await;
    let cp = latest[latest.len() - 2]["checkpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let victim = env
        .get(&format!("nodes?filters=parents:{root}+AND+name:d3"))
        .await
        .json()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.call(Method::PUT, &format!("{}trash/{victim}", env.meta), None)
        .await;
    let (_, sets) = changes(
        &env,
        &format!("{{\"checkpoint\":\"{cp}\",\"includePurged\":true}}"),
    )
    .await;
    assert_eq!(sets[0]["nodes"][0]["status"], "TRASH");
    assert_eq!(sets[0]["nodes"][0]["id"], victim.as_str());
    // Bad bodies are refused, not guessed at.
    let bad = env
        .call(
            Method::POST,
            &format!("{}changes", env.meta),
            Some("{\"includePurged\":\"maybe\"}"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
