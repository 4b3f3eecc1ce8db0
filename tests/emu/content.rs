//! §8: uploads as each client framed them, deduplication, overwrite, downloads with Range,
//! the large-download redirect, tempLinks, the size cap, concurrent uploads of one name.

use acdc::emu::EmuConfig;
use acdc::emu::settings::Settings;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Env, TOKEN, answer, assert_node_shape, go_acd_multipart, md5_hex};

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn go_acd_upload_chunked_and_fixed_length() {
    let env = Env::start().await;
    let root = env.root().await;
    let bytes = pattern(300_000);
    let a = env.upload(&root, "hello ünïcode \"q\".bin", &bytes).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let node = a.json();
    assert_node_shape(&node);
    assert_eq!(node["kind"], "FILE");
    assert_eq!(node["status"], "AVAILABLE");
    assert_eq!(node["name"], "hello ünïcode \"q\".bin");
    let cp = &node["contentProperties"];
    assert_eq!(cp["size"], 300_000);
    assert_eq!(cp["md5"], md5_hex(&bytes));
    assert_eq!(cp["version"], 1);
    assert_eq!(cp["extension"], "bin");
    assert_eq!(cp["contentType"], "application/octet-stream");

    // Empty files, chunked and with an exact Content-Length.
    for (i, chunked) in [true, false].into_iter().enumerate() {
        let a = env
            .upload_meta(
                &json!({"name": format!("empty{i}.txt"), "kind": "FILE", "parents": [root]}),
                "e",
                b"",
                chunked,
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        assert_eq!(
            a.json()["contentProperties"]["md5"],
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(a.json()["contentProperties"]["contentType"], "text/plain");
    }
    // Without parents a file lands in the root.
    let a = env
        .upload_meta(
            &json!({"name": "rootless.txt", "kind": "FILE"}),
            "x",
            b"rootless",
            true,
        )
        .await;
    assert_eq!(a.json()["parents"], json!([root]));
}

#[tokio::test]
async fn acd_cli_and_cs_acd_framings() {
    let env = Env::start().await;
    let root = env.root().await;
    // acd_cli (requests_toolbelt): Content-Length, quote_plus filename, epilogue garbage.
    let boundary = "8f1e9a4a3bc8461d8fb1d1a4f0c6f1a0";
    let meta = json!({"kind": "FILE", "name": "acd cli+file.txt", "parents": [root]});
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{meta}\r\n--{boundary}\r\n\
         Content-Disposition: form-data; name=\"content\"; filename=\"acd+cli%2Bfile.txt\"\r\n\
         Content-Type: application/octet-stream\r\n\r\nfrom acd_cli\r\n--{boundary}--\r\nmultipart/form-data; boundary={boundary}"
    )
    .into_bytes();
    let a = env
        .upload_raw(
            &format!("{}nodes", env.content),
            &format!("multipart/form-data; boundary={boundary}"),
            body.clone(),
            false,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json()["name"], "acd cli+file.txt");
    assert_eq!(
        a.json()["contentProperties"]["md5"],
        md5_hex(b"from acd_cli")
    );

    // cs-acd: unquoted filename, a per-part Content-Length, quoted boundary parameter.
    body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=metadata\r\n\r\n{}\r\n--{boundary}\r\n\
         Content-Disposition: form-data; name=content; filename=cs file.txt\r\nContent-Length: 5\r\n\r\nfrom#\r\n--{boundary}--\r\n",
        json!({"kind": "FILE", "name": "cs.txt", "parents": [root]})
    )
    .into_bytes();
    let a = env
        .upload_raw(
            &format!("{}nodes?suppress=deduplication", env.content),
            &format!("multipart/form-data; boundary=\"{boundary}\""),
            body,
            false,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json()["contentProperties"]["size"], 5);

    // Not multipart at all.
    let a = env
        .upload_raw(
            &format!("{}nodes", env.content),
            "application/json",
            b"{}".to_vec(),
            false,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json()["message"], "Cannot read from request.");
    // Metadata without content.
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{meta}\r\n--{boundary}--\r\n"
    );
    let a = env
        .upload_raw(
            &format!("{}nodes", env.content),
            &format!("multipart/form-data; boundary={boundary}"),
            body.into_bytes(),
            false,
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn deduplication_name_clashes_and_overwrite() {
    let env = Env::start().await;
    let root = env.root().await;
    let first = env.upload(&root, "one.txt", b"same bytes").await.json();
    // Without suppress=deduplication the same content is refused, anywhere in the account.
    let (ct, body) = go_acd_multipart(
        &json!({"name": "two.txt", "kind": "FILE", "parents": [root]}),
        "two.txt",
        b"same bytes",
    );
    let dup = env
        .upload_raw(&format!("{}nodes", env.content), &ct, body.clone(), true)
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.json()["info"]["nodeId"], first["id"]);
    let ok = env
        .upload_raw(
            &format!("{}nodes?suppress=deduplication", env.content),
            &ct,
            body,
            true,
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);

    let clash = env.upload(&root, "ONE.TXT", b"other").await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    assert_eq!(clash.json()["code"], "NAME_ALREADY_EXISTS");
    assert_eq!(clash.json()["info"]["nodeId"], first["id"]);

    // Overwrite: only a content part; 200; versions bumped; name and parents kept.
    let id = first["id"].as_str().unwrap();
    let boundary = "b0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"one.txt\"\r\n\r\nnew content!\r\n--{boundary}--\r\n"
    );
    let r = env
        .http
        .put(format!("{}nodes/{id}/content", env.content))
        .bearer_auth(TOKEN)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let a = answer(r).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let node = a.json();
    assert_eq!(node["contentProperties"]["version"], 2);
    assert_eq!(node["version"], 2);
    assert_eq!(node["contentProperties"]["md5"], md5_hex(b"new content!"));
    assert_eq!(node["name"], "one.txt");
    let got = env
        .call(
            Method::GET,
            &format!("{}nodes/{id}/content", env.content),
            None,
        )
        .await;
    assert_eq!(got.text, "new content!");
}

#[tokio::test]
async fn downloads_with_ranges() {
    let env = Env::start().await;
    let root = env.root().await;
    let bytes = pattern(100_000);
    let node = env.upload(&root, "photo.jpg", &bytes).await.json();
    let url = format!(
        "{}nodes/{}/content",
        env.content,
        node["id"].as_str().unwrap()
    );
    let get = |range: Option<&'static str>| {
        let mut req = env.http.get(&url).bearer_auth(TOKEN);
        if let Some(r) = range {
            req = req.header("Range", r);
        }
        req.send()
    };
    let full = get(None).await.unwrap();
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(full.headers()["content-type"], "image/jpeg");
    assert_eq!(full.bytes().await.unwrap().as_ref(), &bytes[..]);
    let part = get(Some("bytes=10-19")).await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 10-19/100000");
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[10..20]);
    // acd_cli asks past the end and expects what exists, as 206.
    let tail = get(Some("bytes=99990-200000")).await.unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &bytes[99_990..]);
    let open = get(Some("bytes=50000-")).await.unwrap();
    assert_eq!(open.bytes().await.unwrap().len(), 50_000);
    let none = get(Some("bytes=100000-")).await.unwrap();
    assert_eq!(none.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(none.headers()["content-range"], "bytes */100000");
    // A folder has no content.
    let folder = env
        .call(
            Method::GET,
            &format!("{}nodes/{root}/content", env.content),
            None,
        )
        .await;
    assert_eq!(folder.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn large_downloads_go_through_presigned_urls_and_templinks() {
    let env = Env::with(EmuConfig {
        settings: Settings {
            direct_download_limit: 1000,
            templink_ttl_secs: 2,
            ..Settings::default()
        },
        ..EmuConfig::default()
    })
    .await;
    let root = env.root().await;
    let small = env.upload(&root, "small.txt", b"small").await.json();
    let bytes = pattern(5000);
    let big = env.upload(&root, "big.bin", &bytes).await.json();
    let big_id = big["id"].as_str().unwrap();

    // Direct download of a large file: a redirect to a presigned URL…
    let r = env
        .http
        .get(format!("{}nodes/{big_id}/content", env.content))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256"),
        "{location}"
    );
    // …which refuses a client that keeps sending its bearer token…
    let refused = answer(
        env.http
            .get(&location)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.text.contains("<Code>InvalidArgument</Code>")
            && refused.text.contains("Only one auth mechanism allowed")
    );
    // …and serves one that strips it, as rclone does.
    let served = env.http.get(&location).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.bytes().await.unwrap().as_ref(), &bytes[..]);

    // tempLink: on request only, files only, usable without a token, with Range.
    let plain = env.get(&format!("nodes/{big_id}")).await.json();
    assert!(plain.get("tempLink").is_none());
    let with_link = env
        .get(&format!("nodes/{big_id}?tempLink=true"))
        .await
        .json();
    let link = with_link["tempLink"]
        .as_str()
        .expect("tempLink")
        .to_string();
    let part = env
        .http
        .get(&link)
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[100..200]);
    assert_eq!(
        env.http
            .get(&link)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    let small_link = env
        .get(&format!(
            "nodes/{}?tempLink=true",
            small["id"].as_str().unwrap()
        ))
        .await
        .json()["tempLink"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(small_link.contains("/cdproxy/templink/"), "{small_link}");
    assert_eq!(
        env.http
            .get(&small_link)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "small"
    );
    // Listings give links too when asked.
    let page = env
        .get(&format!("nodes?filters=parents:{root}&tempLink=true"))
        .await
        .json();
    assert!(
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["tempLink"].is_string())
    );

    // Links expire: 410 for a small file's link, S3's 403 for a presigned one.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    assert_eq!(
        env.http.get(&small_link).send().await.unwrap().status(),
        StatusCode::GONE
    );
    let expired = answer(env.http.get(&link).send().await.unwrap()).await;
    assert_eq!(expired.status, StatusCode::FORBIDDEN);
    assert!(expired.text.contains("Request has expired"));
    // A fresh one works again.
    let fresh = env
        .get(&format!("nodes/{big_id}?tempLink=true"))
        .await
        .json()["tempLink"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(fresh, link);
    assert_eq!(
        env.http.get(&fresh).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        env.http
            .get(format!("{}/cdproxy/templink/unknown", env.base()))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn size_cap_refuses_after_the_body_and_keeps_nothing() {
    let env = Env::with(EmuConfig {
        settings: Settings {
            max_file_size: 10_000,
            ..Settings::default()
        },
        ..EmuConfig::default()
    })
    .await;
    let root = env.root().await;
    let a = env.upload(&root, "huge.iso", &pattern(20_000)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("maximum file size")
    );
    assert_eq!(
        env.get(&format!("nodes?filters=parents:{root}"))
            .await
            .json()["count"],
        0
    );
    assert_eq!(
        env.upload(&root, "fits.iso", &pattern(10_000)).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn parallel_uploads_of_one_name_have_one_winner() {
    let env = Env::start().await;
    let root = env.root().await;
    let uploads = (0..8).map(|i| {
        let env = &env;
        let root = root.clone();
        async move {
            env.upload(&root, "Race.txt", format!("writer {i}").as_bytes())
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(uploads).await;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(env.children(&root).await.len(), 1);
}
