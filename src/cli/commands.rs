//! The commands other than copy: listings in rclone's formats, mkdir, md5sum, about,
//! trash/restore, moveto, config management and authorization.

use std::io::{BufRead, Write};
use std::time::Duration;

use super::location::Location;
use super::session::Session;
use super::{CliError, CliResult};
use crate::auth::flow::{self, Authorization, Pasted};
use crate::auth::oauth_client;
use crate::config::options::{DEFAULT_AUTH_URL, DEFAULT_ENDPOINT_URL, DEFAULT_TOKEN_URL, OPTIONS};
use crate::config::token::Token;
use crate::config::{ConfigFile, NewRemote};
use crate::drive::Client;
use crate::drive::model::Node;

fn remote_of(loc: &Location) -> CliResult<(&str, &str)> {
    match loc {
        Location::Remote { remote, path } => Ok((remote, path)),
        Location::Local(p) => Err(CliError::Usage(format!(
            "{} is not a remote: write REMOTE:PATH",
            p.display()
        ))),
    }
}

async fn open(
    session: &Session,
    loc: &Location,
) -> CliResult<(Client, Node, crate::config::options::RemoteOptions)> {
    let (remote, path) = remote_of(loc)?;
    let (client, options) = session.connect(remote).await?;
    let node = client.resolve(path).await.map_err(CliError::from_drive)?;
    Ok((client, node, options))
}

/// rclone prints times as local `2006-01-02 15:04:05`.
fn when(node: &Node) -> String {
    node.modified_date
        .as_deref()
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "2000-01-01 00:00:00".into())
}

fn shown_name(node: &Node, options: &crate::config::options::RemoteOptions) -> String {
    crate::names::local_name(node.name(), options.encoding)
        .to_string_lossy()
        .into_owned()
}

pub async fn lsd(session: &Session, loc: &Location) -> CliResult<()> {
    let (client, folder, options) = open(session, loc).await?;
    let mut out = std::io::stdout().lock();
    let mut pages = client.children(&folder.id);
    while let Some(page) = pages.next_page().await.map_err(CliError::from_drive)? {
        for node in page.iter().filter(|n| n.is_folder()) {
            let _ = writeln!(
                out,
                "{:>12} {} {:>9} {}",
                -1,
                when(node),
                -1,
                shown_name(node, &options)
            );
        }
    }
    Ok(())
}

/// Every file under a folder, with its path relative to it.
async fn walk_files(
    client: &Client,
    folder: &Node,
    options: &crate::config::options::RemoteOptions,
) -> CliResult<Vec<(String, Node)>> {
    let mut out = Vec::new();
    let mut stack = vec![(folder.clone(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for child in client
            .list_all(&dir.id)
            .await
            .map_err(CliError::from_drive)?
        {
            let path = format!("{prefix}{}", shown_name(&child, options));
            if child.is_folder() {
                stack.push((child, format!("{path}/")));
            } else {
                out.push((path, child));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

async fn files_at(session: &Session, loc: &Location) -> CliResult<Vec<(String, Node)>> {
    let (client, node, options) = open(session, loc).await?;
    if node.is_folder() {
        walk_files(&client, &node, &options).await
    } else {
        Ok(vec![(shown_name(&node, &options), node)])
    }
}

pub async fn ls(session: &Session, loc: &Location) -> CliResult<()> {
    let mut out = std::io::stdout().lock();
    for (path, node) in files_at(session, loc).await? {
        let _ = writeln!(out, "{:>9} {path}", node.size());
    }
    Ok(())
}

pub async fn md5sum(session: &Session, loc: &Location) -> CliResult<()> {
    let mut out = std::io::stdout().lock();
    for (path, node) in files_at(session, loc).await? {
        let _ = writeln!(out, "{}  {path}", node.md5().unwrap_or(""));
    }
    Ok(())
}

pub async fn lsf(session: &Session, loc: &Location, recursive: bool) -> CliResult<()> {
    let (client, folder, options) = open(session, loc).await?;
    let mut lines = Vec::new();
    let mut stack = vec![(folder, String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for child in client
            .list_all(&dir.id)
            .await
            .map_err(CliError::from_drive)?
        {
            let name = format!("{prefix}{}", shown_name(&child, &options));
            if child.is_folder() {
                lines.push(format!("{name}/"));
                if recursive {
                    stack.push((child, format!("{name}/")));
                }
            } else {
                lines.push(name);
            }
        }
    }
    lines.sort();
    let mut out = std::io::stdout().lock();
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    Ok(())
}

pub async fn mkdir(session: &Session, loc: &Location) -> CliResult<()> {
    let (remote, path) = remote_of(loc)?;
    let (client, options) = session.connect(remote).await?;
    let mut id = client.root_id().await.map_err(CliError::from_drive)?;
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let name = crate::names::drive_name(std::ffi::OsStr::new(part), options.encoding)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        id = client
            .ensure_folder(&id, &name)
            .await
            .map_err(CliError::from_drive)?
            .id;
    }
    Ok(())
}

pub async fn about(session: &Session, loc: &Location) -> CliResult<()> {
    let (remote, _) = remote_of(loc)?;
    let (client, _) = session.connect(remote).await?;
    let quota = client.quota().await.map_err(CliError::from_drive)?;
    let usage = client.usage().await.map_err(CliError::from_drive)?;
    let size = |b: u64| humansize::format_size(b, humansize::BINARY);
    println!("Total:   {}", size(quota.quota));
    println!(
        "Used:    {}",
        size(quota.quota.saturating_sub(quota.available))
    );
    println!("Free:    {}", size(quota.available));
    for (label, c) in [
        ("Photos", &usage.photo),
        ("Videos", &usage.video),
        ("Documents", &usage.doc),
        ("Other", &usage.other),
    ] {
        println!(
            "{label:<9}{:>10} in {} files",
            size(c.total.bytes),
            c.total.count
        );
    }
    Ok(())
}

pub async fn trash(session: &Session, loc: &Location) -> CliResult<()> {
    let (client, node, _) = open(session, loc).await?;
    if node.is_root {
        return Err(CliError::Usage("the root cannot be trashed".into()));
    }
    client.trash(&node.id).await.map_err(CliError::from_drive)?;
    Ok(())
}

/// Restores the trashed item that was at `loc` (its folder must still exist).
pub async fn restore(session: &Session, loc: &Location) -> CliResult<()> {
    let (remote, path) = remote_of(loc)?;
    let (client, options) = session.connect(remote).await?;
    let (parent_path, name) = path.rsplit_once('/').unwrap_or(("", path));
    let parent = client
        .resolve(parent_path)
        .await
        .map_err(CliError::from_drive)?;
    let wanted = crate::names::drive_name(std::ffi::OsStr::new(name), options.encoding)
        .map_err(|e| CliError::Usage(e.to_string()))?
        .to_lowercase();
    let mut pages = client.trash_pages();
    while let Some(page) = pages.next_page().await.map_err(CliError::from_drive)? {
        if let Some(node) = page
            .iter()
            .find(|n| n.name().to_lowercase() == wanted && n.parents.contains(&parent.id))
        {
            client
                .restore(&node.id)
                .await
                .map_err(CliError::from_drive)?;
            return Ok(());
        }
    }
    Err(CliError::NotFound(format!("{loc} is not in the trash")))
}

pub async fn moveto(session: &Session, src: &Location, dst: &Location) -> CliResult<()> {
    let (src_remote, src_path) = remote_of(src)?;
    let (dst_remote, dst_path) = remote_of(dst)?;
    if src_remote != dst_remote {
        return Err(CliError::Usage("moveto works within one remote".into()));
    }
    let (client, options) = session.connect(src_remote).await?;
    let node = client
        .resolve(src_path)
        .await
        .map_err(CliError::from_drive)?;
    let (src_parent_path, _) = src_path.rsplit_once('/').unwrap_or(("", src_path));
    let src_parent = client
        .resolve(src_parent_path)
        .await
        .map_err(CliError::from_drive)?;
    let (dst_parent_path, dst_name) = dst_path.rsplit_once('/').unwrap_or(("", dst_path));
    let dst_name = crate::names::drive_name(std::ffi::OsStr::new(dst_name), options.encoding)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let mut dst_parent = client
        .node(&client.root_id().await.map_err(CliError::from_drive)?)
        .await
        .map_err(CliError::from_drive)?;
    for part in dst_parent_path.split('/').filter(|p| !p.is_empty()) {
        dst_parent = client
            .ensure_folder(&dst_parent.id, part)
            .await
            .map_err(CliError::from_drive)?;
    }
    if node.name() != dst_name {
        client
            .rename(&node.id, &dst_name)
            .await
            .map_err(CliError::from_drive)?;
    }
    if src_parent.id != dst_parent.id {
        client
            .move_node(&node.id, &src_parent.id, &dst_parent.id)
            .await
            .map_err(CliError::from_drive)?;
    }
    Ok(())
}

// ---- config ----

pub fn config_list(session: &Session) -> CliResult<()> {
    let file = session.config()?;
    for name in file.sections() {
        let kind = file.get(&name, "type").unwrap_or("?");
        println!("{name}: {kind}");
    }
    Ok(())
}

pub fn config_show(session: &Session, name: &str) -> CliResult<()> {
    let file = session.config()?;
    let section = file
        .section(name)
        .ok_or_else(|| CliError::NotFound(format!("remote {name}")))?;
    println!("[{name}]");
    for (k, v) in section {
        let shown = if k == "token" || k == "client_secret" {
            "(set, hidden)"
        } else {
            v.as_str()
        };
        println!("{k} = {shown}");
    }
    Ok(())
}

pub fn config_delete(session: &Session, name: &str) -> CliResult<()> {
    let mut file = session.config()?;
    if !file.remove_section(name) {
        return Err(CliError::NotFound(format!("remote {name}")));
    }
    file.save()?;
    Ok(())
}

fn ask(prompt: &str, default: &str) -> CliResult<String> {
    let mut err = std::io::stderr().lock();
    if default.is_empty() {
        let _ = write!(err, "{prompt}: ");
    } else {
        let _ = write!(err, "{prompt} [{default}]: ");
    }
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Io(e.to_string()))?;
    let line = line.trim();
    Ok(if line.is_empty() {
        default.to_string()
    } else {
        line.to_string()
    })
}

/// Gets a token: the browser's redirect to the loopback listener, or a pasted answer
/// (redirect URL, code or token JSON), whichever comes first.
pub async fn obtain_token(
    client_id: &str,
    client_secret: &str,
    auth_url: &str,
    token_url: &str,
    headless: bool,
) -> CliResult<Token> {
    let oauth = oauth_client(client_id, client_secret, auth_url, token_url)?;
    let redirect = flow::redirect_url();
    let auth = Authorization::start(oauth, &redirect)?;
    let addr = flow::loopback_address(&redirect)?;
    let listener = flow::listen(addr, &auth, Duration::from_secs(600)).await;
    eprintln!(
        "Open this address in a browser and allow acdc to use your Amazon Drive:\n\n  {}\n",
        auth.url
    );
    if !headless && flow::open_browser(&auth.url) {
        eprintln!("(a browser was opened on this machine)");
    }
    eprintln!(
        "On another machine? Either forward the port first ({}), or paste here the address the browser ends on (or just its code, or the token from `acdc authorize`), then Enter:",
        flow::ssh_forward_hint(&auth.redirect_uri)
    );
    let paste = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    });
    let code = match listener {
        Ok((_, rx)) => tokio::select! {
            got = rx => Pasted::Code(got.map_err(|_| CliError::Usage("the redirect listener stopped".into()))??),
            pasted = paste => auth_paste(&auth, pasted)?,
        },
        Err(e) => {
            eprintln!("({e}; paste the answer instead)");
            auth_paste(&auth, paste.await)?
        }
    };
    match code {
        Pasted::Token(t) => Ok(t),
        Pasted::Code(c) => Ok(auth.exchange(&c).await?),
    }
}

fn auth_paste(
    auth: &Authorization,
    pasted: Result<std::io::Result<String>, tokio::task::JoinError>,
) -> CliResult<Pasted> {
    let text = pasted
        .map_err(|e| CliError::Io(e.to_string()))?
        .map_err(|e| CliError::Io(e.to_string()))?;
    Ok(auth.understand_paste(&text)?)
}

pub async fn config_create(session: &Session, name: &str, headless: bool) -> CliResult<()> {
    let mut file = session.config()?;
    if file.section(name).is_some() {
        return Err(CliError::Usage(format!(
            "remote {name} exists; use `acdc config reconnect {name}:` or delete it first"
        )));
    }
    if let Some(problem) = crate::config::remote_name_problem(name) {
        return Err(CliError::Usage(problem));
    }
    eprintln!(
        "New Amazon Drive remote {name:?}. Amazon requires your own Login with Amazon security profile;"
    );
    eprintln!(
        "its allowed return URL must include {}",
        flow::DEFAULT_REDIRECT
    );
    let client_id = ask("client_id", "")?;
    let client_secret = ask("client_secret", "")?;
    let auth_url = ask("auth_url (Enter for Amazon's)", DEFAULT_AUTH_URL)?;
    let token_url = ask("token_url (Enter for Amazon's)", DEFAULT_TOKEN_URL)?;
    let endpoint_url = ask("endpoint_url (Enter for Amazon's)", DEFAULT_ENDPOINT_URL)?;
    let token = obtain_token(&client_id, &client_secret, &auth_url, &token_url, headless).await?;
    // Nothing is written until the token is in hand.
    file.add_remote(&NewRemote {
        name: name.to_string(),
        client_id,
        client_secret,
        auth_url,
        token_url,
        endpoint_url,
        token: token.to_json(),
    });
    file.save()?;
    eprintln!("Remote {name} saved to {}", file.path().display());
    Ok(())
}

pub async fn config_reconnect(session: &Session, name: &str, headless: bool) -> CliResult<()> {
    let options = session.options(name)?;
    let token = obtain_token(
        &options.client_id,
        &options.client_secret,
        &options.auth_url,
        &options.token_url,
        headless,
    )
    .await?;
    let mut file = ConfigFile::load(&session.config_path)?;
    file.set(name, "token", &token.to_json());
    file.save()?;
    eprintln!("Remote {name} re-authorized.");
    Ok(())
}

/// `acdc authorize [ID SECRET]`: for a headless setup, run on a machine with a browser.
pub async fn authorize(
    client_id: &str,
    client_secret: &str,
    auth_url: &str,
    token_url: &str,
) -> CliResult<()> {
    let token = obtain_token(client_id, client_secret, auth_url, token_url, false).await?;
    println!(
        "Paste the following into your remote machine --->\n{}\n<---End paste",
        token.to_json()
    );
    Ok(())
}

/// The names of every option, for the help text.
pub fn option_help() -> String {
    OPTIONS
        .iter()
        .map(|o| format!("  --{:<26} {} (env {})", o.flag(), o.help, o.env()))
        .collect::<Vec<_>>()
        .join("\n")
}
