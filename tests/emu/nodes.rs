//! §3–§7, §9, §12: discovery, account, the node model, filters, pages, folders, PATCH,
//! parents, moves, trash, and the wire conventions (request ids, slashes, gzip).

use std::collections::HashSet;

use acdc::emu::EmuConfig;
use acdc::emu::settings::Settings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Env, assert_node_shape, assert_timestamp};

#[tokio::test]
async fn discovery_and_account_match_the_reference() {
    let env = Env::start().await;
    let a = env
        .call(Method::GET, &env.server.endpoint_url(), None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let d = a.json();
    assert_eq!(d["customerExists"], true);
    assert_eq!(d["metadataUrl"], format!("{}/drive/v1/", env.base()));
    assert_eq!(d["contentUrl"], format!("{}/cdproxy/", env.base()));

    assert_eq!(
        env.get("account/info").await.json(),
        json!({"termsOfUse": "1.0.0", "status": "ACTIVE"})
    );
    let quota = env.get("account/quota").await.json();
    assert!(quota["quota"].as_u64().unwrap() >= quota["available"].as_u64().unwrap());
    assert_timestamp(&quota["lastCalculated"]);

    let root = env.root().await;
    env.upload(&root, "a.jpg", &[1u8; 1000]).await;
    env.upload(&root, "b.pdf", &[2u8; 300]).await;
    env.upload(&root, "c.bin", &[3u8; 7]).await;
    let usage = env.get("account/usage").await.json();
    assert_timestamp(&usage["lastCalculated"]);
    assert_eq!(usage["photo"]["total"], json!({"bytes": 1000, "count": 1}));
    assert_eq!(usage["doc"]["billable"], json!({"bytes": 300, "count": 1}));
    assert_eq!(usage["other"]["total"]["bytes"], 7);
    assert_eq!(usage["video"]["total"]["count"], 0);
    assert!(
        usage.get("total").is_none(),
        "no grand total: clients sum the categories"
    );
    let quota = env.get("account/quota").await.json();
    assert_eq!(
        quota["quota"].as_u64().unwrap() - quota["available"].as_u64().unwrap(),
        1307
    );
}

#[tokio::test]
async fn the_root_as_clients_find_it() {
    let env = Env::start().await;
    for filter in [
        "kind:FOLDER+AND+isRoot:true",
        "isRoot:true",
        "isRoot%3Atrue",
    ] {
        let page = env.get(&format!("nodes?filters={filter}")).await.json();
        assert_eq!(page["count"], 1, "{filter}");
        let root = &page["data"][0];
        assert_node_shape(root);
        assert_eq!(root["isRoot"], true);
        assert_eq!(root["parents"], json!([]));
        assert_eq!(root["kind"], "FOLDER");
        assert_eq!(root["createdBy"], "CloudDriveFiles");
        assert!(page.get("nextToken").is_none());
    }
    let id = env.root().await;
    let node = env.get(&format!("nodes/{id}")).await.json();
    assert!(node.get("name").is_none());
    // tempLink=true on a folder is accepted and ignored (rclone's DirMove asks that way).
    let node = env.get(&format!("nodes/{id}?tempLink=true")).await.json();
    assert!(node.get("tempLink").is_none());
    let missing = env.get("nodes/AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.json()["message"].is_string());
}

#[tokio::test]
async fn folders_names_and_conflicts() {
    let env = Env::start().await;
    let root = env.root().await;
    let photos = env.mkdir(&root, "Photos").await;
    assert_node_shape(&photos);
    assert_eq!(photos["parents"], json!([root]));
    assert_eq!(photos["version"], 1);
    assert_eq!(photos["status"], "AVAILABLE");
    assert!(photos.get("contentProperties").is_none());

    // Case-insensitive clash, across kinds, with the existing id and a lower-cased name.
    let body = json!({"name": "PHOTOS", "kind": "FOLDER", "parents": [root]}).to_string();
    let clash = env
        .call(Method::POST, &format!("{}nodes", env.meta), Some(&body))
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    let err = clash.json();
    assert_eq!(err["code"], "NAME_ALREADY_EXISTS");
    assert_eq!(err["info"]["nodeId"], photos["id"]);
    assert!(err["logref"].is_string());
    assert_eq!(
        err["message"],
        format!(
            "Node with the name photos already exists under parentId {root} conflicting NodeId: {}",
            photos["id"].as_str().unwrap()
        )
    );
    assert_eq!(
        env.upload(&root, "photos", b"x").await.status,
        StatusCode::CONFLICT
    );
    // Unicode case folding, not just ASCII.
    env.mkdir(&root, "Ärger").await;
    let body = json!({"name": "äRGER", "kind": "FOLDER", "parents": [root]}).to_string();
    assert_eq!(
        env.call(Method::POST, &format!("{}nodes", env.meta), Some(&body))
            .await
            .status,
        StatusCode::CONFLICT
    );

    // Without parents a folder goes to the root.
    let body = json!({"name": "Loose", "kind": "FOLDER"}).to_string();
    let loose = env
        .call(Method::POST, &format!("{}nodes", env.meta), Some(&body))
        .await
        .json();
    assert_eq!(loose["parents"], json!([root]));

    for bad in ["a/b", "", ".", ".."] {
        let body = json!({"name": bad, "kind": "FOLDER", "parents": [root]}).to_string();
        let a = env
            .call(Method::POST, &format!("{}nodes", env.meta), Some(&body))
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "name {bad:?}");
    }
    // A parent that does not exist.
    let body =
        json!({"name": "x", "kind": "FOLDER", "parents": ["AAAAAAAAAAAAAAAAAAAAAA"]}).to_string();
    assert_eq!(
        env.call(Method::POST, &format!("{}nodes", env.meta), Some(&body))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Malformed JSON.
    assert_eq!(
        env.call(
            Method::POST,
            &format!("{}nodes", env.meta),
            Some("{\"name\":")
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn filters_as_each_client_sent_them() {
    let env = Env::start().await;
    let root = env.root().await;
    let dir = env.mkdir(&root, "dir").await;
    let dir_id = dir["id"].as_str().unwrap();
    let tricky = "sp ace (1) [x] {y} +-&|!^'\"~*?:\\.txt";
    env.upload(dir_id, tricky, b"tricky").await;
    env.upload(dir_id, "foo bar", b"foo").await;
    env.upload(dir_id, "sample-1.jpg", b"s1").await;
    env.upload(dir_id, "Sample-2.jpg", b"s2").await;
    env.mkdir(dir_id, "sample folder").await;

    // go-acd's exact wire form: parents:"ID" AND name:"foo\ bar", escapes inside quotes.
    let page = env
        .get(&format!(
            "nodes?filters=parents%3A%22{dir_id}%22+AND+name%3A%22foo%5C+bar%22"
        ))
        .await
        .json();
    assert_eq!(page["count"], 1);
    assert_eq!(page["data"][0]["name"], "foo bar");

    // Every special character escaped, as rclone does.
    let mut escaped = String::new();
    for c in tricky.chars() {
        if " +-&|!(){}[]^'\"~*?:\\".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    let filter = format!("parents:\"{dir_id}\" AND name:\"{escaped}\"");
    let url = format!(
        "nodes?filters={}",
        url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
    );
    let page = env.get(&url).await.json();
    assert_eq!(page["count"], 1, "{url}");
    assert_eq!(page["data"][0]["name"], tricky);

    // cs-acd builds URLs by hand: %20 for spaces, raw colons, bare escaped values.
    let page = env
        .get(&format!(
            "nodes?filters=parents:{dir_id}%20AND%20name:foo\\%20bar"
        ))
        .await
        .json();
    assert_eq!(page["count"], 1);

    // Name matches ignore case; prefixes (duplicity) too.
    let page = env
        .get(&format!(
            "nodes?filters=parents:{dir_id}+AND+name:FOO\\+BAR"
        ))
        .await
        .json();
    assert_eq!(page["count"], 1);
    let page = env
        .get(&format!(
            "nodes?filters=kind:FILE+AND+name:sample*+AND+parents:{dir_id}"
        ))
        .await
        .json();
    assert_eq!(page["count"], 2);
    let page = env
        .get(&format!("nodes/{dir_id}/children?filters=kind:FOLDER"))
        .await
        .json();
    assert_eq!(page["count"], 1);
    assert_eq!(page["data"][0]["name"], "sample folder");

    // Content properties.
    let md5 = crate::harness::md5_hex(b"foo");
    let page = env
        .get(&format!("nodes?filters=contentProperties.md5:{md5}"))
        .await
        .json();
    assert_eq!(page["data"][0]["name"], "foo bar");
    let page = env
        .get("nodes?filters=contentProperties.contentType:image*")
        .await
        .json();
    assert_eq!(page["count"], 2);
    let page = env
        .get("nodes?filters=contentProperties.size:%5B2+TO+3%5D+AND+kind:FILE")
        .await
        .json();
    assert_eq!(page["count"], 3, "sizes 2 and 3: foo and the two samples");
    let page = env
        .get("nodes?filters=contentProperties.extension:jpg")
        .await
        .json();
    assert_eq!(page["count"], 2);

    // Date ranges with quoted values, open ends and mixed brackets.
    let page = env
        .get("nodes?filters=modifiedDate:%7B%222014-12-31T23:59:59.000Z%22+TO+*%5D+AND+kind:FILE")
        .await
        .json();
    assert_eq!(page["count"], 4);
    let page = env
        .get("nodes?filters=createdDate:%5B*+TO+%222001-01-01T00:00:00Z%22%5D")
        .await
        .json();
    assert_eq!(page["count"], 0);

    // Refusals: too many terms, OR, grouping, unknown fields.
    let nine = ["kind:FILE"; 9].join(" AND ");
    for bad in [
        nine.as_str(),
        "kind:FILE OR kind:FOLDER",
        "(kind:FILE)",
        "colour:red",
        "name:\"open",
    ] {
        let url = format!(
            "nodes?filters={}",
            url::form_urlencoded::byte_serialize(bad.as_bytes()).collect::<String>()
        );
        let a = env.get(&url).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            a.json()["message"]
                .as_str()
                .unwrap()
                .contains("Invalid filter")
        );
    }
}

#[tokio::test]
async fn ids_with_a_leading_dash_need_no_escape() {
    let env = Env::start().await;
    let root = env.root().await;
    // Make folders until one id starts with '-' (1 in 64 ids do).
    let mut dash = None;
    for i in 0..1000 {
        let f = env.mkdir(&root, &format!("f{i}")).await;
        if f["id"].as_str().unwrap().starts_with('-') {
            dash = Some(f["id"].as_str().unwrap().to_string());
            break;
        }
    }
    let dash = dash.expect("some id starts with '-'");
    env.upload(&dash, "inside.txt", b"in").await;
    let page = env
        .get(&format!("nodes?filters=parents:{dash}"))
        .await
        .json();
    assert_eq!(page["count"], 1, "rclone sends parents:-Id unescaped");
}

#[tokio::test]
async fn pages_of_200_with_total_count_and_expiring_tokens() {
    let env = Env::with(EmuConfig {
        settings: Settings {
            page_token_ttl_secs: 1,
            ..Settings::default()
        },
        ..EmuConfig::default()
    })
    .await;
    let root = env.root().await;
    let dir = env.mkdir(&root, "many").await;
    let dir_id = dir["id"].as_str().unwrap().to_string();
    for i in 0..450 {
        let body =
            json!({"name": format!("d{i:03}"), "kind": "FOLDER", "parents": [dir_id]}).to_string();
        env.call(Method::POST, &format!("{}nodes", env.meta), Some(&body))
            .await;
    }
    let first = env
        .get(&format!("nodes?filters=parents:{dir_id}"))
        .await
        .json();
    assert_eq!(first["count"], 450);
    assert_eq!(first["data"].as_array().unwrap().len(), 200);
    let token = first["nextToken"].as_str().unwrap().to_string();
    let second = env
        .get(&format!(
            "nodes?filters=parents:{dir_id}&startToken={token}"
        ))
        .await
        .json();
    assert_eq!(second["count"], 450);
    let third = env
        .get(&format!(
            "nodes?filters=parents:{dir_id}&startToken={}",
            second["nextToken"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(third["data"].as_array().unwrap().len(), 50);
    assert!(
        third.get("nextToken").is_none(),
        "absent, never empty, on the last page: {}",
        third.get("nextToken").unwrap_or(&Value::Null)
    );
    let names: HashSet<String> = [&first, &second, &third]
        .iter()
        .flat_map(|p| {
            p["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["name"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(names.len(), 450);

    // Smaller pages on request; the limit is capped at 200.
    let small = env
        .get(&format!("nodes/{dir_id}/children?limit=10"))
        .await
        .json();
    assert_eq!(small["data"].as_array().unwrap().len(), 10);
    let big = env
        .get(&format!("nodes/{dir_id}/children?limit=1000"))
        .await
        .json();
    assert_eq!(big["data"].as_array().unwrap().len(), 200);
    // A token belongs to its query.
    let other = env
        .get(&format!("nodes?filters=kind:FOLDER&startToken={token}"))
        .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    // And expires.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let late = env
        .get(&format!(
            "nodes?filters=parents:{dir_id}&startToken={token}"
        ))
        .await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
    let err = late.json();
    assert_eq!(err["message"], "Next token is expired");
    assert!(err["logref"].is_string());
    // Sorting.
    let sorted = env
        .get(&format!(
            "nodes/{dir_id}/children?sort=%5B%22name+DESC%22%5D&limit=1"
        ))
        .await
        .json();
    assert_eq!(sorted["data"][0]["name"], "d449");
}

/// `POST nodes/{to}/children {"fromParent","childId"}`, body without a Content-Type.
async fn move_node(env: &Env, to: &str, from: &str, child: &str) -> crate::harness::Answer {
    let body = json!({"fromParent": from, "childId": child}).to_string();
    env.call(
        Method::POST,
        &format!("{}nodes/{to}/children", env.meta),
        Some(&body),
    )
    .await
}

#[tokio::test]
async fn patch_move_and_multiple_parents() {
    let env = Env::start().await;
    let root = env.root().await;
    let a = env.mkdir(&root, "a").await;
    let b = env.mkdir(&root, "b").await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let f = env.upload(a_id, "f.txt", b"file").await.json();
    let f_id = f["id"].as_str().unwrap();
    env.upload(b_id, "taken.txt", b"other").await;

    let renamed = env
        .call(
            Method::PATCH,
            &format!("{}nodes/{f_id}", env.meta),
            Some("{\"name\":\"g.txt\"}\n"),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK);
    let renamed = renamed.json();
    assert_eq!(renamed["name"], "g.txt");
    assert_eq!(renamed["version"], 2);
    assert_ne!(renamed["eTagResponse"], f["eTagResponse"]);
    let described = env
        .call(
            Method::PATCH,
            &format!("{}nodes/{f_id}", env.meta),
            Some("{\"description\":\"d\",\"labels\":[\"x\"]}"),
        )
        .await
        .json();
    assert_eq!(described["description"], "d");
    assert_eq!(described["labels"], json!(["x"]));
    let page = env.get("nodes?filters=labels:x").await.json();
    assert_eq!(page["count"], 1);

    // Atomic move; into a clash → 409; from a folder that is not a parent → 400.
    let moved = move_node(&env, b_id, a_id, f_id).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.json()["parents"], json!([b_id]));
    assert_eq!(
        move_node(&env, b_id, a_id, f_id).await.status,
        StatusCode::BAD_REQUEST
    );
    let clash = env
        .call(
            Method::PATCH,
            &format!("{}nodes/{f_id}", env.meta),
            Some("{\"name\":\"TAKEN.txt\"}"),
        )
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT);

    // A second parent, then removing the first.
    let added = env
        .call(
            Method::PUT,
            &format!("{}nodes/{a_id}/children/{f_id}", env.meta),
            None,
        )
        .await;
    assert_eq!(added.status, StatusCode::OK);
    let parents: HashSet<String> = added.json()["parents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    assert_eq!(parents, HashSet::from([a_id.to_string(), b_id.to_string()]));
    assert_eq!(
        env.get(&format!("nodes?filters=parents:{a_id}"))
            .await
            .json()["count"],
        1
    );
    let removed = env
        .call(
            Method::DELETE,
            &format!("{}nodes/{b_id}/children/{f_id}", env.meta),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK);
    assert_eq!(removed.json()["parents"], json!([a_id]));

    // Folders too may have several parents; a folder cannot go inside itself.
    let inner = env.mkdir(a_id, "inner").await;
    let inner_id = inner["id"].as_str().unwrap();
    assert_eq!(
        env.call(
            Method::PUT,
            &format!("{}nodes/{b_id}/children/{inner_id}", env.meta),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    let cycle = move_node(&env, inner_id, &root, a_id).await;
    assert_eq!(cycle.status, StatusCode::BAD_REQUEST);
    // Purge is not for third-party apps.
    let purge = env
        .call(Method::DELETE, &format!("{}nodes/{f_id}", env.meta), None)
        .await;
    assert_eq!(purge.status, StatusCode::FORBIDDEN);
    assert_eq!(
        purge.json(),
        json!({"message": "Insufficient permissions granted for operation: purgeNode"})
    );
}

#[tokio::test]
async fn trash_restore_and_what_listings_show() {
    let env = Env::start().await;
    let root = env.root().await;
    let dir = env.mkdir(&root, "d").await;
    let dir_id = dir["id"].as_str().unwrap();
    let f = env.upload(dir_id, "Report.txt", b"r").await.json();
    let f_id = f["id"].as_str().unwrap();

    let trashed = env
        .call(Method::PUT, &format!("{}trash/{f_id}", env.meta), None)
        .await;
    assert_eq!(trashed.status, StatusCode::OK);
    assert_eq!(trashed.json()["status"], "TRASH");
    // Trashing twice is a no-op.
    assert_eq!(
        env.call(Method::PUT, &format!("{}trash/{f_id}", env.meta), None)
            .await
            .status,
        StatusCode::OK
    );
    // Gone from listings and lookups; present with status:TRASH, in the trash, and by id.
    assert_eq!(
        env.get(&format!("nodes?filters=parents:{dir_id}"))
            .await
            .json()["count"],
        0
    );
    assert_eq!(
        env.get(&format!(
            "nodes?filters=parents:\"{dir_id}\"+AND+name:\"Report.txt\""
        ))
        .await
        .json()["count"],
        0
    );
    assert_eq!(
        env.get("nodes?filters=status:TRASH").await.json()["count"],
        1
    );
    let trash = env.get("trash").await.json();
    assert_eq!(trash["count"], 1);
    assert_eq!(trash["data"][0]["id"], f_id);
    assert_eq!(
        env.get(&format!("nodes/{f_id}")).await.json()["status"],
        "TRASH"
    );

    // The name is free while it is in the trash; trashed nodes can be renamed freely.
    let other = env.upload(dir_id, "report.TXT", b"new").await;
    assert_eq!(other.status, StatusCode::CREATED);
    let blocked = env
        .call(
            Method::POST,
            &format!("{}trash/{f_id}/restore", env.meta),
            None,
        )
        .await;
    assert_eq!(blocked.status, StatusCode::CONFLICT);
    let renamed = env
        .call(
            Method::PATCH,
            &format!("{}nodes/{f_id}", env.meta),
            Some("{\"name\":\"report.txt\"}"),
        )
        .await;
    assert_eq!(
        renamed.status,
        StatusCode::OK,
        "renaming a trashed node never conflicts"
    );
    env.call(
        Method::PATCH,
        &format!("{}nodes/{f_id}", env.meta),
        Some("{\"name\":\"Report (old).txt\"}"),
    )
    .await;
    let restored = env
        .call(
            Method::POST,
            &format!("{}trash/{f_id}/restore", env.meta),
            None,
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK);
    assert_eq!(restored.json()["status"], "AVAILABLE");
    assert_eq!(
        env.get(&format!("nodes?filters=parents:{dir_id}"))
            .await
            .json()["count"],
        2
    );
    // Moving a trashed node is refused.
    env.call(Method::PUT, &format!("{}trash/{f_id}", env.meta), None)
        .await;
    let mv = move_node(&env, &root, dir_id, f_id).await;
    assert_eq!(mv.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn wire_conventions() {
    let env = Env::start().await;
    // Request ids on successes and errors alike; error types on errors.
    let ok = env.get("account/info").await;
    assert!(ok.headers.contains_key("x-amzn-requestid"));
    let err = env.get("nodes/nope").await;
    assert!(err.headers.contains_key("x-amzn-requestid"));
    assert!(err.headers.contains_key("x-amzn-errortype"));
    // Duplicate slashes, as cs-acd and duplicity built them.
    let root = env.root().await;
    let doubled = env
        .call(
            Method::GET,
            &format!("{}/drive/v1//nodes/{root}", env.base()),
            None,
        )
        .await;
    assert_eq!(doubled.status, StatusCode::OK);
    // gzip when asked for.
    let r = env
        .http
        .get(format!("{}nodes?filters=isRoot:true", env.meta))
        .bearer_auth(crate::harness::TOKEN)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let bytes = r.bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["count"], 1);
    // An unknown path is a JSON 404, not a crash.
    assert_eq!(env.get("nope/nothing").await.status, StatusCode::NOT_FOUND);
}
