//! §2: the consent page, code and refresh grants, client auth styles, LWA errors, bearer checks.

use acdc::emu::EmuConfig;
use acdc::emu::oauth::{ClientSpec, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use acdc::emu::settings::Settings;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Env, answer};

const REDIRECT: &str = "http://127.0.0.1:53682/";

fn authorize_url(env: &Env, client_id: &str, extra: &str) -> String {
    // The URL rclone's x/oauth2 builds: sorted parameters and access_type=offline.
    format!(
        "{}/ap/oa?access_type=offline&client_id={client_id}&redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2F\
         &response_type=code&scope=clouddrive%3Aread_all+clouddrive%3Awrite&state=xyz123{extra}",
        env.base()
    )
}

fn query(location: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(location)
        .expect("redirect URL")
        .query_pairs()
        .into_owned()
        .collect()
}

/// Exchanges an authorization code as rclone does (redirect_uri repeated, optional PKCE).
async fn exchange(
    env: &Env,
    creds: Option<(&str, &str)>,
    code: &str,
    verifier: Option<&str>,
) -> (StatusCode, Value, String) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    token_call(env, creds, &form).await
}

/// Plays the browser: opens the consent page, presses a button, returns the redirect.
async fn consent(env: &Env, url: &str, decision: &str) -> String {
    let page = answer(env.http.get(url).send().await.unwrap()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("Allow"), "consent page: {}", page.text);
    let consent = page
        .text
        .split("name=\"consent\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("consent id in the form");
    let r = env
        .http
        .post(format!("{}/ap/oa", env.base()))
        .form(&[("consent", consent), ("decision", decision)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    r.headers()["location"].to_str().unwrap().to_string()
}

async fn token_call(
    env: &Env,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, Value, String) {
    let mut req = env
        .http
        .post(format!("{}/auth/o2/token", env.base()))
        .form(form);
    if let Some((id, secret)) = basic {
        // Go's oauth2 URL-escapes id and secret before Basic-encoding them.
        let escape =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let raw = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            escape(id),
            escape(secret)
        ));
        req = req.header("Authorization", format!("Basic {raw}"));
    }
    let a = answer(req.send().await.unwrap()).await;
    let content_type = a
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (a.status, a.json(), content_type)
}

#[tokio::test]
async fn code_flow_with_consent_then_refresh() {
    let env = Env::start().await;
    let location = consent(&env, &authorize_url(&env, DEFAULT_CLIENT_ID, ""), "allow").await;
    assert!(location.starts_with(REDIRECT), "{location}");
    let q = query(&location);
    assert_eq!(q["state"], "xyz123");
    assert_eq!(q["scope"], "clouddrive:read_all clouddrive:write");
    let code = q["code"].clone();

    let (status, tokens, content_type) = exchange(
        &env,
        Some((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)),
        &code,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let access = tokens["access_token"].as_str().unwrap();
    assert!(access.starts_with("Atza|") && access.len() >= 350);
    assert!(
        tokens["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("Atzr|")
    );

    // The access token works on the API.
    let r = env
        .http
        .get(format!("{}account/info", env.meta))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The code is single-use.
    let (status, err, _) = exchange(
        &env,
        Some((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)),
        &code,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "invalid_grant");

    // Refresh with form credentials and no redirect_uri (as rclone's retry does).
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, renewed, _) = token_call(
        &env,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_ne!(renewed["access_token"], tokens["access_token"]);
    assert_eq!(
        renewed["refresh_token"], tokens["refresh_token"],
        "refresh tokens are kept unless rotation is on"
    );
}

#[tokio::test]
async fn lwa_errors_are_verbatim() {
    let env = Env::start().await;
    let (status, err, _) = token_call(
        &env,
        None,
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err,
        json!({"error": "invalid_request", "error_description": "The request is missing a required parameter : client_id"})
    );
    let (status, err, _) = token_call(
        &env,
        Some((DEFAULT_CLIENT_ID, "wrong")),
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"], "invalid_client");
    let (status, err, _) = token_call(
        &env,
        Some((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "Atzr|unknown"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err,
        json!({"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : refresh_token"})
    );
    let (status, err, _) = token_call(
        &env,
        Some((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)),
        &[("grant_type", "password")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn deny_unknown_client_and_foreign_redirects() {
    let env = Env::start().await;
    let location = consent(&env, &authorize_url(&env, DEFAULT_CLIENT_ID, ""), "deny").await;
    let q = query(&location);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "xyz123");
    assert!(!q.contains_key("code"));

    let r = env
        .http
        .get(authorize_url(
            &env,
            "amzn1.application-oa2-client.nobody",
            "",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Never redirect to an address the client did not register.
    let url = format!(
        "{}/ap/oa?client_id={DEFAULT_CLIENT_ID}&redirect_uri=https%3A%2F%2Fevil.example%2F&response_type=code&scope=x",
        env.base()
    );
    let r = env.http.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
}

#[tokio::test]
async fn auto_approve_pkce_and_registered_clients() {
    let env = Env::with(EmuConfig {
        settings: Settings {
            auto_approve: true,
            ..Settings::default()
        },
        clients: vec![ClientSpec {
            client_id: "amzn1.application-oa2-client.0123456789abcdef".into(),
            client_secret: "s3cret/with+chars".into(),
            name: Some("rclone-test".into()),
            redirect_uris: vec![],
        }],
        ..EmuConfig::default()
    })
    .await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let url = authorize_url(
        &env,
        "amzn1.application-oa2-client.0123456789abcdef",
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
    );
    let r = env.http.get(url).send().await.unwrap();
    assert!(
        r.status().is_redirection(),
        "auto-approve redirects at once"
    );
    let code = query(r.headers()["location"].to_str().unwrap())["code"].clone();
    let creds = Some((
        "amzn1.application-oa2-client.0123456789abcdef",
        "s3cret/with+chars",
    ));
    let (status, _, _) = exchange(&env, creds, &code, Some("wrong")).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a wrong PKCE verifier is refused"
    );

    let r = env.http.get(authorize_url(&env, "amzn1.application-oa2-client.0123456789abcdef", "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")).send().await.unwrap();
    let code = query(r.headers()["location"].to_str().unwrap())["code"].clone();
    let (status, tokens, _) = exchange(&env, creds, &code, Some(verifier)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    // Nodes it creates carry its application name.
    let root = env.root().await;
    let r = env
        .http
        .post(format!("{}nodes", env.meta))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .body(json!({"name": "by-rclone", "kind": "FOLDER", "parents": [root]}).to_string())
        .send()
        .await
        .unwrap();
    let node: Value = r.json().await.unwrap();
    assert_eq!(node["createdBy"], "rclone-test");
}

#[tokio::test]
async fn bearer_checks_expiry_forced_expiry_and_revocation() {
    let env = Env::start().await;
    for auth in [None, Some("Bearer nonsense"), Some("Basic abc")] {
        let mut req = env.http.get(format!("{}account/info", env.meta));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let a = answer(req.send().await.unwrap()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.json(), json!({"message": "Token has expired"}));
    }
    // A token issued with a 1 s lifetime stops working after it.
    let issued = env
        .admin_post(
            "tokens",
            json!({"access_token": "Atza|short", "refresh_token": "Atzr|short", "expires_in": 1}),
        )
        .await;
    assert_eq!(issued["access_token"], "Atza|short");
    let ok = env
        .http
        .get(format!("{}account/info", env.meta))
        .bearer_auth("Atza|short")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let expired = env
        .http
        .get(format!("{}account/info", env.meta))
        .bearer_auth("Atza|short")
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);

    // Forced expiry hits every token, including the harness's.
    assert_eq!(env.get("account/info").await.status, StatusCode::OK);
    env.admin_post("tokens/expire", json!({})).await;
    assert_eq!(
        env.get("account/info").await.status,
        StatusCode::UNAUTHORIZED
    );

    // After revocation the refresh token no longer refreshes.
    env.admin_post("tokens/revoke", json!({"refresh_token": "Atzr|short"}))
        .await;
    let (status, err, _) = token_call(
        &env,
        Some((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "Atzr|short"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"], "invalid_grant");

    // acd_cli's introspection call.
    env.admin_post("tokens", json!({"access_token": "Atza|info"}))
        .await;
    let info = env
        .call(
            Method::GET,
            &format!("{}/auth/o2/tokeninfo?access_token=Atza%7Cinfo", env.base()),
            None,
        )
        .await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.json()["aud"], DEFAULT_CLIENT_ID);
    let gone = env
        .call(
            Method::GET,
            &format!("{}/auth/o2/tokeninfo?access_token=Atza%7Cshort", env.base()),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rotation_revokes_the_old_refresh_token() {
    let env = Env::with(EmuConfig {
        settings: Settings {
            rotate_refresh_tokens: true,
            ..Settings::default()
        },
        ..EmuConfig::default()
    })
    .await;
    let creds = Some((DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET));
    let (status, renewed, _) = token_call(
        &env,
        creds,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "Atzr|test-refresh-token"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(renewed["refresh_token"], "Atzr|test-refresh-token");
    let (status, _, _) = token_call(
        &env,
        creds,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "Atzr|test-refresh-token"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
