//! The OAuth code flow end to end; the test plays the browser.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use acdc::auth::flow::{self, Authorization};
use acdc::auth::oauth_client;
use acdc::config::ConfigFile;
use acdc::config::options::RemoteOptions;
use acdc::emu::oauth::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use acdc::emu::{self, EmuConfig};

/// Opens the authorize URL, presses Allow, and returns where the browser is sent.
async fn consent(http: &reqwest::Client, url: &str, base: &str) -> String {
    let page = http.get(url).send().await.unwrap().text().await.unwrap();
    let consent = page
        .split("name=\"consent\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a consent form");
    let r = http
        .post(format!("{base}/ap/oa"))
        .form(&[("consent", consent), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    r.headers()["location"].to_str().unwrap().to_string()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn loopback_listener_takes_the_browser_redirect() {
    let server = emu::serve(EmuConfig::default()).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redirect = format!("http://127.0.0.1:{port}/");
    let oauth = oauth_client(
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        &format!("{}/ap/oa", server.url()),
        &format!("{}/auth/o2/token", server.url()),
    )
    .unwrap();
    let auth = Authorization::start(oauth, &redirect).unwrap();
    assert!(
        auth.url.contains("code_challenge=")
            && auth
                .url
                .contains("scope=clouddrive%3Aread_all+clouddrive%3Awrite")
    );
    let (_, code) = flow::listen(
        format!("127.0.0.1:{port}").parse().unwrap(),
        &auth,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let http = no_redirects();
    let location = consent(&http, &auth.url, server.url()).await;
    assert!(location.starts_with(&redirect), "{location}");
    // A forged callback is refused and does not end the wait.
    let forged = http
        .get(format!("{redirect}?code=x&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    let page = http.get(&location).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("You can close this tab")
    );
    let code = code.await.unwrap().unwrap();
    let token = auth.exchange(&code).await.unwrap();
    assert!(token.access_token.starts_with("Atza|") && token.refresh_token.starts_with("Atzr|"));
    assert!(token.is_fresh(chrono::Utc::now()));
}

#[tokio::test(flavor = "multi_thread")]
async fn config_create_over_ssh_by_pasting_the_redirect() {
    let server = emu::serve(EmuConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("acdc.conf");
    std::fs::write(&config, "# mine\n[keep]\ntype = local\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_acdc"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "config",
            "create",
            "drive",
            "--headless",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{DEFAULT_CLIENT_ID}\n{DEFAULT_CLIENT_SECRET}\n{0}/ap/oa\n{0}/auth/o2/token\n{0}/drive/v1/account/endpoint", server.url()).unwrap();
    // Read what acdc shows until the authorize URL appears.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut shown = String::new();
    let url = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("acdc shows the authorize URL");
        shown.push_str(&line);
        shown.push('\n');
        if let Some(url) = line
            .trim()
            .strip_prefix(&format!("{}/ap/oa?", server.url()))
        {
            break format!("{}/ap/oa?{url}", server.url());
        }
    };
    let location = consent(&no_redirects(), &url, server.url()).await;
    writeln!(stdin, "{location}").unwrap();
    drop(stdin);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let everything = format!("{shown}{}", rx.try_iter().collect::<Vec<_>>().join("\n"));
    assert!(status.success(), "{everything}");
    assert!(
        everything.contains("ssh -L 53682:127.0.0.1:53682"),
        "the SSH hint is shown: {everything}"
    );

    let file = ConfigFile::load(&config).unwrap();
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .starts_with("# mine\n[keep]\ntype = local\n\n[drive]\n")
    );
    let options = RemoteOptions::resolve(&file, "drive", &Default::default(), &|_| None).unwrap();
    assert_eq!(
        options.endpoint_url,
        format!("{}/drive/v1/account/endpoint", server.url())
    );
    assert!(options.token.unwrap().is_fresh(chrono::Utc::now()));
    // And it works.
    let out = Command::new(env!("CARGO_BIN_EXE_acdc"))
        .args(["--config", config.to_str().unwrap(), "lsd", "drive:"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
