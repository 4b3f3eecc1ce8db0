//! The real binary in a real terminal (tmux), against acd-emu with the demo seed: browse,
//! copy two Drive files down, trash one and restore it from the trash view, then check the
//! results on disk and on the Drive itself.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use acdc::drive::content::file_md5;
use acdc::emu::seed::SeedSpec;

/// A tmux server of our own (its own socket), killed when the test ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(width: u16, height: u16, command: &str) -> Tmux {
        let socket = format!("acdc-e2e-{}-{width}x{height}", std::process::id());
        let status = Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-s", "acdc"])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg(command)
            .status()
            .expect("tmux must be installed for the end-to-end test (apt install tmux)");
        assert!(status.success(), "tmux did not start");
        Tmux { socket }
    }

    /// Types `text` as it is (no key names).
    fn type_text(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "acdc", "-l", text])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(300));
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            let status = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "acdc", key])
                .status()
                .expect("tmux send-keys");
            assert!(status.success());
            // A person's pace: each key is handled before the next arrives.
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "acdc"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `ok`, or fails showing it.
    async fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "waited a minute for {what}; the screen:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// The demo's tree, small enough to seed in a moment (a 1 MiB "big" file, 300 logs).
pub fn small_seed() -> SeedSpec {
    SeedSpec {
        big_file_size: 1 << 20,
        many_entries: 300,
    }
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browse_copy_trash_and_restore_in_a_real_terminal() {
    let demo = acdc::launch::demo(small_seed(), true)
        .await
        .expect("demo drive");
    let data = tempfile::tempdir().expect("temp");
    let local: PathBuf = demo.local();
    let command = format!(
        "ACDC_DATA_DIR={} {} --config {} --remote demo --local {} ; echo acdc-exited-$?; sleep 60",
        shell_quote(data.path()),
        shell_quote(Path::new(env!("CARGO_BIN_EXE_acdc"))),
        shell_quote(&demo.session.config_path),
        shell_quote(&local),
    );
    let tmux = Tmux::start(120, 40, &command);
    tmux.wait_for("the Drive's root", |s| {
        s.contains("/Documents") && s.contains("README-demo.txt")
    })
    .await;

    // Into Documents on the Drive (budget 2017.csv, notes.md, Résumé — draft.txt,
    // Welcome to acdc.txt, 議事録.txt); select the third and fourth; F5 copies them down.
    tmux.keys(&["Tab", "Enter"]);
    tmux.wait_for("Documents", |s| {
        s.contains("demo:/Documents") && s.contains("Welcome to acdc.txt")
    })
    .await;
    tmux.keys(&["j", "j", "Space", "Space", "F5"]);
    tmux.wait_for("both copies done", |s| {
        s.matches(" done").count() >= 2 && s.contains("2/2 files")
    })
    .await;

    // Copy one of them again after changing it locally: asked, keep both.
    std::fs::write(local.join("Welcome to acdc.txt"), "changed here\n").expect("edit");
    tmux.keys(&["k", "F5"]);
    tmux.wait_for("the question", |s| {
        s.contains("Already there") && s.contains("and different")
    })
    .await;
    tmux.keys(&["k"]);
    tmux.wait_for("the second copy", |s| s.contains("Welcome to acdc (1).txt"))
        .await;
    tmux.keys(&["j"]);

    // F8 the file under the cursor now (議事録.txt) and confirm.
    tmux.keys(&["F8"]);
    tmux.wait_for("the confirm dialog", |s| {
        s.contains("\"議事録.txt\"") && s.contains("to the trash?")
    })
    .await;
    tmux.keys(&["y"]);
    tmux.wait_for("the trash to take it", |s| {
        s.contains("moved 1 item to the trash") && s.contains("└ 4 items")
    })
    .await;

    // The trash view lists it (last: folders first, then by name); restore it with u.
    tmux.keys(&["t"]);
    let screen = tmux
        .wait_for("the trash view", |s| {
            s.contains("demo: trash") && s.contains("議事録.txt")
        })
        .await;
    let row = screen
        .lines()
        .find(|l| l.contains("議事録.txt"))
        .unwrap_or_default();
    assert!(
        row.contains("30d left"),
        "days left before the purge: {row}"
    );
    tmux.keys(&["End", "u"]);
    tmux.wait_for("the restore", |s| s.contains("restored 1 item"))
        .await;
    tmux.keys(&["t"]);
    tmux.wait_for("Documents again", |s| {
        s.contains("demo:/Documents") && s.contains("議事録.txt")
    })
    .await;
    // Move a local file up into Documents: copied, verified, then the original trashed.
    // The filter puts the cursor on it.
    let readme_md5 = file_md5(&local.join("README-demo.txt")).expect("readme");
    tmux.keys(&["Tab", "/"]);
    tmux.type_text("readme");
    tmux.keys(&["Enter", "F6"]);
    tmux.wait_for("the move question", |s| {
        s.contains("Move \"README-demo.txt\"")
    })
    .await;
    tmux.keys(&["y"]);
    let start = Instant::now();
    while local.join("README-demo.txt").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the original was not removed:\n{}",
            tmux.screen()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tmux.keys(&["q"]);
    tmux.wait_for("acdc to exit", |s| s.contains("acdc-exited-0"))
        .await;

    // What the screen said is what happened.
    let (client, _) = demo.session.connect("demo").await.expect("connect");
    let documents = client.resolve("Documents").await.expect("Documents");
    let children = client.list_all(&documents.id).await.expect("list");
    assert_eq!(
        std::fs::read_to_string(local.join("Welcome to acdc.txt"))
            .ok()
            .as_deref(),
        Some("changed here\n"),
        "keep both left the local file alone"
    );
    // The Drive's copy of the changed file came down beside it, as "(1)".
    for (name, local_name) in [
        ("Résumé — draft.txt", "Résumé — draft.txt"),
        ("Welcome to acdc.txt", "Welcome to acdc (1).txt"),
    ] {
        let node = children
            .iter()
            .find(|n| n.name() == name)
            .unwrap_or_else(|| panic!("{name} on the Drive"));
        let path = local.join(local_name);
        assert_eq!(
            file_md5(&path).ok().as_deref(),
            node.md5(),
            "{} has the Drive's MD5",
            path.display()
        );
    }
    let moved = children
        .iter()
        .find(|n| n.name() == "README-demo.txt")
        .expect("the moved file is on the Drive");
    assert_eq!(moved.md5(), Some(readme_md5.as_str()));
    let restored = children
        .iter()
        .find(|n| n.name() == "議事録.txt")
        .expect("the restored file is back in Documents");
    assert_eq!(restored.status, "AVAILABLE");
    let leftovers: Vec<_> = std::fs::read_dir(&local)
        .expect("local")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("acdc-partial"))
        .collect();
    assert!(leftovers.is_empty(), "no partial files left: {leftovers:?}");
}

/// The setup wizard in headless mode on a machine with no remote: the test plays the
/// browser (it opens the address the wizard shows and pastes back where it ended).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizard_sets_up_a_remote_headless() {
    let demo = acdc::launch::demo(small_seed(), false)
        .await
        .expect("demo drive");
    let data = tempfile::tempdir().expect("temp");
    let log = data.path().join("acdc.log");
    // A redirect port of our own, so parallel runs never collide on 53682.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let command = format!(
        "ACDC_DATA_DIR={} ACDC_REDIRECT_URL=http://127.0.0.1:{port}/ {} --config {} --local {} \
         --acd-endpoint-url {} --log-file {} -v ; echo acdc-exited-$?; sleep 60",
        shell_quote(data.path()),
        shell_quote(Path::new(env!("CARGO_BIN_EXE_acdc"))),
        shell_quote(&demo.session.config_path),
        shell_quote(&demo.local()),
        demo.remote.endpoint_url,
        shell_quote(&log),
    );
    let tmux = Tmux::start(100, 30, &command);
    tmux.wait_for("the wizard", |s| s.contains("step 1 of 8"))
        .await;
    tmux.type_text("mydrive");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the client ID step", |s| s.contains("step 2 of 8"))
        .await;
    tmux.type_text(&demo.remote.client_id);
    tmux.keys(&["Enter"]);
    tmux.type_text(&demo.remote.client_secret);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the auth URL step", |s| s.contains("step 4 of 8"))
        .await;
    tmux.type_text(&demo.remote.auth_url);
    tmux.keys(&["Enter"]);
    tmux.type_text(&demo.remote.token_url);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the method step", |s| s.contains("step 6 of 8"))
        .await;
    tmux.keys(&["Down", "Enter"]);
    tmux.wait_for("the address", |s| s.contains("Open this address"))
        .await;

    // The browser's part: the address the wizard made (as its log records it).
    let url = {
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(url) = text
                .lines()
                .filter_map(|l| l.split("authorize at ").nth(1))
                .next_back()
            {
                break url.trim().to_string();
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no address in the log:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let screen = tmux.screen();
    assert!(
        screen.replace(['│', ' ', '\n'], "").contains(&url[..40]),
        "the screen shows the address:\n{screen}"
    );
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http")
        .get(&url)
        .send()
        .await
        .expect("the consent page");
    let landed = answer.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(landed.contains("code="), "{landed}");
    tmux.type_text(&landed);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the outcome", |s| s.contains("Authorized: remote mydrive"))
        .await;
    tmux.keys(&["Enter"]);
    tmux.wait_for("the Drive pane on the new remote", |s| {
        s.contains("mydrive:/") && s.contains("/Documents")
    })
    .await;
    tmux.keys(&["q"]);
    tmux.wait_for("acdc to exit", |s| s.contains("acdc-exited-0"))
        .await;

    let config = std::fs::read_to_string(&demo.session.config_path).expect("config written");
    assert!(config.contains("[mydrive]"), "{config}");
    assert!(config.contains("type = amazon cloud drive"), "{config}");
    assert!(config.contains("\"refresh_token\""), "{config}");
    // And the remote works for the CLI (and so for rclone) too.
    let mut session = demo.session.clone();
    session
        .overrides
        .insert("endpoint_url".into(), demo.remote.endpoint_url.clone());
    let (client, _) = session
        .connect("mydrive")
        .await
        .expect("the new remote connects");
    assert!(client.resolve("Documents").await.is_ok());
}

/// SIGTERM (a shutdown) and SIGHUP (a dropped SSH session) leave the terminal as it was:
/// canonical mode and echo back on, the alternate screen gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_acdc_gives_the_terminal_back() {
    for signal in ["TERM", "HUP"] {
        terminal_is_restored_after(signal).await;
    }
}

async fn terminal_is_restored_after(signal: &str) {
    let demo = acdc::launch::demo(small_seed(), true)
        .await
        .expect("demo drive");
    let data = tempfile::tempdir().expect("temp");
    let pid_file = data.path().join("pid");
    let command = format!(
        "stty sane; ACDC_DATA_DIR={} {} --config {} --remote demo --local {} < /dev/tty & echo $! > {}; wait $!; \
         echo acdc-exited-$?; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo \
         | tr '\\n' ' '; echo; sleep 60",
        shell_quote(data.path()),
        shell_quote(Path::new(env!("CARGO_BIN_EXE_acdc"))),
        shell_quote(&demo.session.config_path),
        shell_quote(&demo.local()),
        shell_quote(&pid_file),
    );
    let tmux = Tmux::start(90, 28, &command);
    tmux.wait_for("the panes", |s| s.contains("/Documents"))
        .await;
    let pid = std::fs::read_to_string(&pid_file).expect("pid");
    let status = Command::new("kill")
        .args([&format!("-{signal}"), pid.trim()])
        .status()
        .expect("kill");
    assert!(status.success());
    let screen = tmux
        .wait_for("the shell again", |s| {
            s.contains("acdc-exited-") && s.contains("icanon")
        })
        .await;
    assert!(
        screen.contains("icanon echo"),
        "raw mode was left on after SIG{signal}:\n{screen}"
    );
    assert!(
        !screen.contains("-icanon") && !screen.contains("-echo"),
        "{screen}"
    );
    assert!(
        !screen.contains("/Documents"),
        "the alternate screen was left after SIG{signal}:\n{screen}"
    );
}

/// A first run without a config opens the wizard; leaving it at once writes nothing and,
/// back in the shell, says how to set a remote up later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_the_first_wizard_says_how_to_set_up_later() {
    let data = tempfile::tempdir().expect("temp");
    let config = data.path().join("acdc.conf");
    let command = format!(
        "ACDC_DATA_DIR={} {} --config {}; echo acdc-exited-$?; sleep 60",
        shell_quote(data.path()),
        shell_quote(Path::new(env!("CARGO_BIN_EXE_acdc"))),
        shell_quote(&config),
    );
    let tmux = Tmux::start(96, 26, &command);
    tmux.wait_for("the wizard", |s| s.contains("step 1 of 8"))
        .await;
    tmux.keys(&["Escape"]);
    let screen = tmux
        .wait_for("the shell again", |s| s.contains("acdc-exited-"))
        .await;
    assert!(screen.contains("acdc-exited-0"), "{screen}");
    assert!(
        screen.contains("no Amazon Drive remote is set up yet"),
        "{screen}"
    );
    assert!(!config.exists(), "nothing was written");
}
