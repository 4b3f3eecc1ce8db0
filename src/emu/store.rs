//! The emulator's persistent state: node metadata in SQLite, file content as blobs in a
//! folder. Every mutation stamps the node with the next change sequence number, which is
//! what the changes feed replays. Callers hold the store behind one mutex, so each method
//! is atomic with respect to every other (two uploads of one name cannot both win).

use std::path::{Path, PathBuf};

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::ids;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("node {0} does not exist")]
    NotFound(String),
    #[error("a node named {name:?} already exists under {parent}")]
    NameExists {
        name: String,
        parent: String,
        existing: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("metadata database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Folder,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "FILE",
            Kind::Folder => "FOLDER",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Available,
    Trash,
    Purged,
    Pending,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Available => "AVAILABLE",
            Status::Trash => "TRASH",
            Status::Purged => "PURGED",
            Status::Pending => "PENDING",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "TRASH" => Status::Trash,
            "PURGED" => Status::Purged,
            "PENDING" => Status::Pending,
            _ => Status::Available,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    pub size: u64,
    pub md5: String,
    pub content_type: String,
    pub extension: String,
    pub version: i64,
    pub content_date: String,
    /// File name of the blob inside the blob folder.
    pub blob: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub name: Option<String>,
    pub kind: Kind,
    pub status: Status,
    pub is_root: bool,
    pub parents: Vec<String>,
    pub created: String,
    pub modified: String,
    pub version: i64,
    pub labels: Vec<String>,
    pub description: Option<String>,
    pub created_by: String,
    pub etag: String,
    pub content: Option<Content>,
    pub trashed_at: Option<String>,
    pub seq: i64,
}

/// What a new file or folder is made from.
#[derive(Debug, Clone, Default)]
pub struct NewNode {
    pub name: String,
    pub parents: Vec<String>,
    pub labels: Vec<String>,
    pub description: Option<String>,
    pub created_by: String,
}

/// A blob written completely to the temp folder, not yet part of any node.
#[derive(Debug)]
pub struct StagedBlob {
    pub path: PathBuf,
    pub size: u64,
    pub md5: String,
}

/// A partial update (PATCH nodes/{id}).
#[derive(Debug, Default)]
pub struct Patch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub labels: Option<Vec<String>>,
    pub promote_to_available: bool,
    pub parents: Option<Vec<String>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CategoryUsage {
    pub bytes: u64,
    pub count: u64,
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Usage {
    pub photo: CategoryUsage,
    pub video: CategoryUsage,
    pub doc: CategoryUsage,
    pub other: CategoryUsage,
}

const NODE_COLUMNS: &str = "id, name, kind, status, is_root, parents, created, modified, version, labels, \
     description, created_by, etag, size, md5, content_type, extension, content_version, content_date, blob, \
     trashed_at, seq";

/// The same columns qualified by the `n` alias, for queries that join `parents`.
const NODE_COLUMNS_N: &str = "n.id, n.name, n.kind, n.status, n.is_root, n.parents, n.created, n.modified, \
     n.version, n.labels, n.description, n.created_by, n.etag, n.size, n.md5, n.content_type, n.extension, \
     n.content_version, n.content_date, n.blob, n.trashed_at, n.seq";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  name TEXT,
  name_lc TEXT,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  is_root INTEGER NOT NULL DEFAULT 0,
  parents TEXT NOT NULL DEFAULT '[]',
  created TEXT NOT NULL,
  modified TEXT NOT NULL,
  version INTEGER NOT NULL,
  labels TEXT NOT NULL DEFAULT '[]',
  description TEXT,
  created_by TEXT NOT NULL,
  etag TEXT NOT NULL,
  size INTEGER, md5 TEXT, content_type TEXT, extension TEXT, content_version INTEGER, content_date TEXT,
  blob TEXT,
  trashed_at TEXT,
  seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS nodes_seq ON nodes(seq);
CREATE INDEX IF NOT EXISTS nodes_md5 ON nodes(md5);
CREATE INDEX IF NOT EXISTS nodes_name_lc ON nodes(name_lc);
-- Keyed by (parent, the child's row number): a folder listing walks one index range in
-- creation order and stops at the end of the page, however large the Drive.
CREATE TABLE IF NOT EXISTS parents (
  parent TEXT NOT NULL, n INTEGER NOT NULL, child TEXT NOT NULL, PRIMARY KEY (parent, n)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS parents_child ON parents(child);
CREATE TABLE IF NOT EXISTS clients (
  id TEXT PRIMARY KEY, secret TEXT NOT NULL, name TEXT NOT NULL, redirect_uris TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
  token TEXT PRIMARY KEY, client_id TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS access_tokens (
  token TEXT PRIMARY KEY, client_id TEXT NOT NULL, refresh_token TEXT, expires_at INTEGER NOT NULL
);
";

pub struct Store {
    conn: Connection,
    blob_dir: PathBuf,
    tmp_dir: PathBuf,
    root_id: String,
    /// Identifies this store in checkpoints, so a checkpoint from another store resets.
    epoch: String,
    seq: i64,
    /// Blobs are fsynced before metadata names them: on for a persistent `--data` folder,
    /// off for a temp folder that is deleted at exit anyway.
    pub durable: bool,
}

impl Store {
    /// Opens (or creates) the store in `data_dir`: `meta.sqlite`, `blobs/`, `tmp/`.
    /// Leftovers in `tmp/` are uploads that never completed and are removed.
    pub fn open(data_dir: &Path) -> StoreResult<Store> {
        let blob_dir = data_dir.join("blobs");
        let tmp_dir = data_dir.join("tmp");
        std::fs::create_dir_all(&blob_dir)?;
        if tmp_dir.exists() {
            std::fs::remove_dir_all(&tmp_dir)?;
        }
        std::fs::create_dir_all(&tmp_dir)?;
        let conn = Connection::open(data_dir.join("meta.sqlite"))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;",
        )?;
        conn.execute_batch(SCHEMA)?;
        let mut store = Store {
            conn,
            blob_dir,
            tmp_dir,
            root_id: String::new(),
            epoch: String::new(),
            seq: 0,
            durable: true,
        };
        store.seq = store
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM nodes", [], |r| r.get(0))?;
        store.epoch = match store.meta("epoch")? {
            Some(epoch) => epoch,
            None => {
                let epoch = ids::opaque(8);
                store.set_meta("epoch", &epoch)?;
                epoch
            }
        };
        store.root_id = match store.meta("root")? {
            Some(root) => root,
            None => store.create_root()?,
        };
        Ok(store)
    }

    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
            [key, value],
        )?;
        Ok(())
    }

    fn create_root(&mut self) -> StoreResult<String> {
        let now = ids::now();
        let root = Node {
            id: ids::node_id(),
            name: None,
            kind: Kind::Folder,
            status: Status::Available,
            is_root: true,
            parents: vec![],
            created: now.clone(),
            modified: now,
            version: 1,
            labels: vec![],
            description: None,
            created_by: "CloudDriveFiles".into(),
            etag: ids::opaque(11),
            content: None,
            trashed_at: None,
            seq: self.next_seq(),
        };
        self.insert(&root)?;
        self.set_meta("root", &root.id)?;
        Ok(root.id)
    }

    pub fn root_id(&self) -> &str {
        &self.root_id
    }

    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    pub fn current_seq(&self) -> i64 {
        self.seq
    }

    pub fn blob_path(&self, blob: &str) -> PathBuf {
        self.blob_dir.join(blob)
    }

    /// A fresh path in the temp folder for an upload in progress.
    pub fn temp_path(&self) -> PathBuf {
        self.tmp_dir.join(format!("{}.part", ids::opaque(16)))
    }

    fn next_seq(&mut self) -> i64 {
        self.seq += 1;
        self.seq
    }

    // ---- reading ----

    pub fn get(&self, id: &str) -> StoreResult<Option<Node>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {NODE_COLUMNS} FROM nodes WHERE id = ?1"))?;
        Ok(stmt.query_row([id], node_from_row).optional()?)
    }

    pub fn require(&self, id: &str) -> StoreResult<Node> {
        self.get(id)?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// One page of nodes matching `where_sql` (over the `nodes n` alias) plus the total.
    /// With `scope_parent`, only that folder's children are considered, read from the
    /// parents index in order (no scan of the whole Drive, no sort for the default order).
    pub fn list(
        &self,
        scope_parent: Option<&str>,
        where_sql: &str,
        params: &[SqlValue],
        order_sql: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<Node>, u64)> {
        let mut params = params.to_vec();
        let (from, order) = match scope_parent {
            Some(parent) => {
                params.push(SqlValue::Text(parent.to_string()));
                let from = format!(
                    "parents p JOIN nodes n ON n.n = p.n WHERE p.parent = ?{} AND",
                    params.len()
                );
                (from, order_sql.replace("n.n ASC", "p.n ASC"))
            }
            None => ("nodes n WHERE".to_string(), order_sql.to_string()),
        };
        let total: i64 = self
            .conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM {from} {where_sql}"))?
            .query_row(params_from_iter(params.iter()), |r| r.get(0))?;
        let total = total.max(0) as u64;
        params.push(SqlValue::Integer(limit as i64));
        params.push(SqlValue::Integer(offset as i64));
        let sql = format!(
            "SELECT {NODE_COLUMNS_N} FROM {from} {where_sql} ORDER BY {order} LIMIT ?{} OFFSET ?{}",
            params.len() - 1,
            params.len()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let nodes = stmt
            .query_map(params_from_iter(params.iter()), node_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((nodes, total))
    }

    /// Nodes changed after `after_seq`, oldest change first.
    pub fn changes_since(
        &self,
        after_seq: i64,
        include_purged: bool,
        limit: u64,
    ) -> StoreResult<Vec<Node>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {NODE_COLUMNS} FROM nodes WHERE seq > ?1 AND (?2 OR status != 'PURGED') ORDER BY seq LIMIT ?3"
        ))?;
        let nodes = stmt
            .query_map(
                params![after_seq, include_purged, limit as i64],
                node_from_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(nodes)
    }

    /// The AVAILABLE node under `parent` whose name equals `name` ignoring case.
    pub fn find_child(
        &self,
        parent: &str,
        name: &str,
        except: &str,
    ) -> StoreResult<Option<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT n.id FROM nodes n JOIN parents p ON p.child = n.id \
             WHERE p.parent = ?1 AND n.name_lc = ?2 AND n.status = 'AVAILABLE' AND n.id != ?3 LIMIT 1",
        )?;
        Ok(stmt
            .query_row(params![parent, name.to_lowercase(), except], |r| r.get(0))
            .optional()?)
    }

    /// An AVAILABLE file with this content, for the deduplication check.
    pub fn find_by_md5(&self, md5: &str) -> StoreResult<Option<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM nodes WHERE md5 = ?1 AND kind = 'FILE' AND status = 'AVAILABLE' LIMIT 1",
        )?;
        Ok(stmt.query_row([md5], |r| r.get(0)).optional()?)
    }

    pub fn usage(&self) -> StoreResult<Usage> {
        let mut usage = Usage::default();
        let mut stmt = self.conn.prepare_cached(
            "SELECT content_type, extension, size FROM nodes WHERE kind = 'FILE' AND status != 'PURGED'",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                r.get::<_, Option<i64>>(2)?.unwrap_or(0),
            ))
        })?;
        for row in rows {
            let (content_type, extension, size) = row?;
            let bucket = if content_type.starts_with("image/") {
                &mut usage.photo
            } else if content_type.starts_with("video/") {
                &mut usage.video
            } else if is_document(&content_type, &extension) {
                &mut usage.doc
            } else {
                &mut usage.other
            };
            bucket.bytes += size.max(0) as u64;
            bucket.count += 1;
        }
        Ok(usage)
    }

    pub fn node_count(&self) -> StoreResult<u64> {
        let count: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM nodes WHERE status != 'PURGED'",
            [],
            |r| r.get(0),
        )?;
        Ok(count.max(0) as u64)
    }

    // ---- writing ----

    fn insert(&self, node: &Node) -> StoreResult<()> {
        let c = node.content.as_ref();
        self.conn
            .prepare_cached(&format!(
                "INSERT INTO nodes (name_lc, {NODE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
                 ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
            ))?
            .execute(params![
                node.name.as_ref().map(|n| n.to_lowercase()),
                node.id,
                node.name,
                node.kind.as_str(),
                node.status.as_str(),
                node.is_root,
                json_list(&node.parents),
                node.created,
                node.modified,
                node.version,
                json_list(&node.labels),
                node.description,
                node.created_by,
                node.etag,
                c.map(|c| c.size as i64),
                c.map(|c| &c.md5),
                c.map(|c| &c.content_type),
                c.map(|c| &c.extension),
                c.map(|c| c.version),
                c.map(|c| &c.content_date),
                c.map(|c| &c.blob),
                node.trashed_at,
                node.seq,
            ])?;
        self.write_parent_rows(&node.id, &node.parents)?;
        Ok(())
    }

    fn update(&self, node: &Node) -> StoreResult<()> {
        let c = node.content.as_ref();
        self.conn
            .prepare_cached(
                "UPDATE nodes SET name_lc = ?2, name = ?3, status = ?4, parents = ?5, modified = ?6, version = ?7, \
                 labels = ?8, description = ?9, etag = ?10, size = ?11, md5 = ?12, content_type = ?13, \
                 extension = ?14, content_version = ?15, content_date = ?16, blob = ?17, trashed_at = ?18, seq = ?19 \
                 WHERE id = ?1",
            )?
            .execute(params![
                node.id,
                node.name.as_ref().map(|n| n.to_lowercase()),
                node.name,
                node.status.as_str(),
                json_list(&node.parents),
                node.modified,
                node.version,
                json_list(&node.labels),
                node.description,
                node.etag,
                c.map(|c| c.size as i64),
                c.map(|c| &c.md5),
                c.map(|c| &c.content_type),
                c.map(|c| &c.extension),
                c.map(|c| c.version),
                c.map(|c| &c.content_date),
                c.map(|c| &c.blob),
                node.trashed_at,
                node.seq,
            ])?;
        self.write_parent_rows(&node.id, &node.parents)?;
        Ok(())
    }

    fn write_parent_rows(&self, child: &str, parents: &[String]) -> StoreResult<()> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT n FROM nodes WHERE id = ?1")?
            .query_row([child], |r| r.get(0))?;
        self.conn
            .prepare_cached("DELETE FROM parents WHERE child = ?1")?
            .execute([child])?;
        let mut add = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO parents (parent, n, child) VALUES (?1, ?2, ?3)",
        )?;
        for parent in parents {
            add.execute(params![parent, n, child])?;
        }
        Ok(())
    }

    /// Stamps a change: new version, modified date, etag and change sequence number.
    fn touch(&mut self, node: &mut Node) {
        node.version += 1;
        node.modified = ids::now();
        node.etag = ids::opaque(11);
        node.seq = self.next_seq();
    }

    /// Runs `f` in one SQLite transaction: all of it lands, or none. Nests (a savepoint),
    /// so the demo seed can wrap thousands of creates in one commit.
    pub fn atomically<T>(&mut self, f: impl FnOnce(&mut Self) -> StoreResult<T>) -> StoreResult<T> {
        self.conn.execute_batch("SAVEPOINT atomically")?;
        match f(self) {
            Ok(value) => {
                self.conn.execute_batch("RELEASE atomically")?;
                Ok(value)
            }
            Err(err) => {
                let _ = self
                    .conn
                    .execute_batch("ROLLBACK TO atomically; RELEASE atomically");
                Err(err)
            }
        }
    }

    /// Checks that `parent` is an existing folder and that `name` is free under it.
    fn check_slot(&self, parent: &str, name: &str, except: &str) -> StoreResult<()> {
        let folder = self.require(parent)?;
        if folder.kind != Kind::Folder {
            return Err(StoreError::Invalid(format!(
                "parent {parent} is not a folder"
            )));
        }
        if let Some(existing) = self.find_child(parent, name, except)? {
            return Err(StoreError::NameExists {
                name: name.to_string(),
                parent: parent.to_string(),
                existing,
            });
        }
        Ok(())
    }

    /// Refuses to put folder `child` under one of its own descendants (or itself).
    fn check_no_cycle(&self, child: &Node, new_parent: &str) -> StoreResult<()> {
        if child.kind != Kind::Folder {
            return Ok(());
        }
        let mut frontier = vec![new_parent.to_string()];
        let mut seen = std::collections::HashSet::new();
        while let Some(id) = frontier.pop() {
            if id == child.id {
                return Err(StoreError::Invalid(
                    "a folder cannot be placed inside itself or one of its subfolders".into(),
                ));
            }
            if seen.insert(id.clone())
                && let Some(node) = self.get(&id)?
            {
                frontier.extend(node.parents);
            }
        }
        Ok(())
    }

    fn resolve_parents(&self, parents: &[String]) -> Vec<String> {
        if parents.is_empty() {
            vec![self.root_id.clone()]
        } else {
            let mut unique = Vec::new();
            for p in parents {
                if !unique.contains(p) {
                    unique.push(p.clone());
                }
            }
            unique
        }
    }

    fn new_node(&mut self, spec: &NewNode, kind: Kind, content: Option<Content>) -> Node {
        let now = ids::now();
        Node {
            id: ids::node_id(),
            name: Some(spec.name.clone()),
            kind,
            status: Status::Available,
            is_root: false,
            parents: self.resolve_parents(&spec.parents),
            created: now.clone(),
            modified: now,
            version: 1,
            labels: spec.labels.clone(),
            description: spec.description.clone(),
            created_by: spec.created_by.clone(),
            etag: ids::opaque(11),
            content,
            trashed_at: None,
            seq: self.next_seq(),
        }
    }

    pub fn create_folder(&mut self, spec: &NewNode) -> StoreResult<Node> {
        validate_name(&spec.name)?;
        self.atomically(|store| {
            let node = store.new_node(spec, Kind::Folder, None);
            for parent in &node.parents {
                store.check_slot(parent, &spec.name, "")?;
            }
            store.insert(&node)?;
            Ok(node)
        })
    }

    /// Creates a file from a staged blob. On any refusal the blob is deleted.
    pub fn create_file(&mut self, spec: &NewNode, blob: StagedBlob) -> StoreResult<Node> {
        let blob = self.place_blob(blob)?;
        let result = validate_name(&spec.name).and_then(|_| {
            self.atomically(|store| {
                let content = store.content_for(&spec.name, &blob, 1);
                let node = store.new_node(spec, Kind::File, Some(content));
                for parent in &node.parents {
                    store.check_slot(parent, &spec.name, "")?;
                }
                store.insert(&node)?;
                Ok(node)
            })
        });
        self.drop_blob_unless_ok(&blob, result)
    }

    /// Replaces a file's content (PUT nodes/{id}/content).
    pub fn overwrite(&mut self, id: &str, blob: StagedBlob) -> StoreResult<Node> {
        let blob = self.place_blob(blob)?;
        let mut old_blob = None;
        let result = self.atomically(|store| {
            let mut node = store.require(id)?;
            let Some(old) = node.content.clone() else {
                return Err(StoreError::Invalid(format!("node {id} is not a file")));
            };
            let name = node.name.clone().unwrap_or_default();
            node.content = Some(store.content_for(&name, &blob, old.version + 1));
            store.touch(&mut node);
            store.update(&node)?;
            old_blob = Some(old.blob);
            Ok(node)
        });
        let result = self.drop_blob_unless_ok(&blob, result);
        if let (Ok(_), Some(old)) = (&result, old_blob) {
            let _ = std::fs::remove_file(self.blob_path(&old));
        }
        result
    }

    /// Moves a complete staged blob into the blob folder under its final name, before any
    /// metadata names it: the metadata only ever points at complete blobs.
    fn place_blob(&self, blob: StagedBlob) -> StoreResult<StagedBlob> {
        let target = self.blob_path(&blob_name(&blob.path));
        if let Err(err) = std::fs::rename(&blob.path, &target) {
            let _ = std::fs::remove_file(&blob.path);
            return Err(err.into());
        }
        Ok(StagedBlob {
            path: target,
            ..blob
        })
    }

    /// Deletes a placed blob that no node took.
    fn drop_blob_unless_ok(
        &self,
        blob: &StagedBlob,
        result: StoreResult<Node>,
    ) -> StoreResult<Node> {
        if result.is_err() {
            let _ = std::fs::remove_file(&blob.path);
        }
        result
    }

    /// The content properties for a blob about to be committed under the name `name`.
    fn content_for(&self, name: &str, blob: &StagedBlob, version: i64) -> Content {
        let extension = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => ext.to_string(),
            _ => String::new(),
        };
        let content_type = mime_guess::from_ext(&extension)
            .first()
            .map(|m| m.essence_str().to_string())
            .unwrap_or_else(|| "application/octet-stream".into());
        Content {
            size: blob.size,
            md5: blob.md5.clone(),
            content_type,
            extension,
            version,
            content_date: ids::now(),
            blob: blob_name(&blob.path),
        }
    }

    pub fn patch(&mut self, id: &str, patch: Patch) -> StoreResult<Node> {
        if let Some(name) = &patch.name {
            validate_name(name)?;
        }
        self.atomically(|store| {
            let mut node = store.require(id)?;
            if node.is_root && (patch.name.is_some() || patch.parents.is_some()) {
                return Err(StoreError::Invalid(
                    "the root cannot be renamed or moved".into(),
                ));
            }
            if let Some(parents) = &patch.parents {
                if parents.is_empty() {
                    return Err(StoreError::Invalid("parents must not be empty".into()));
                }
                for parent in parents {
                    store.check_no_cycle(&node, parent)?;
                }
                node.parents = store.resolve_parents(parents);
            }
            if let Some(name) = &patch.name {
                node.name = Some(name.clone());
            }
            if patch.promote_to_available && node.status == Status::Pending {
                node.status = Status::Available;
            }
            // Trashed nodes never conflict (clients rename them freely).
            if node.status == Status::Available && (patch.name.is_some() || patch.parents.is_some())
            {
                let name = node.name.clone().unwrap_or_default();
                for parent in &node.parents {
                    store.check_slot(parent, &name, &node.id)?;
                }
            }
            if let Some(description) = patch.description {
                node.description = Some(description);
            }
            if let Some(labels) = patch.labels {
                node.labels = labels;
            }
            store.touch(&mut node);
            store.update(&node)?;
            Ok(node)
        })
    }

    /// PUT nodes/{parent}/children/{child}: one more parent.
    pub fn add_parent(&mut self, parent: &str, child: &str) -> StoreResult<Node> {
        self.atomically(|store| {
            let mut node = store.require(child)?;
            store.check_no_cycle(&node, parent)?;
            if node.parents.iter().any(|p| p == parent) {
                return Ok(node);
            }
            if node.status == Status::Available {
                store.check_slot(parent, node.name.as_deref().unwrap_or_default(), &node.id)?;
            } else {
                store.require(parent)?;
            }
            node.parents.push(parent.to_string());
            store.touch(&mut node);
            store.update(&node)?;
            Ok(node)
        })
    }

    /// DELETE nodes/{parent}/children/{child}. A node losing its last parent goes back to
    /// the root (as go-acd documents), so nothing becomes unreachable.
    pub fn remove_parent(&mut self, parent: &str, child: &str) -> StoreResult<Node> {
        self.atomically(|store| {
            let mut node = store.require(child)?;
            if !node.parents.iter().any(|p| p == parent) {
                return Err(StoreError::Invalid(format!(
                    "{parent} is not a parent of {child}"
                )));
            }
            node.parents.retain(|p| p != parent);
            if node.parents.is_empty() {
                let root = store.root_id.clone();
                if node.status == Status::Available {
                    store.check_slot(&root, node.name.as_deref().unwrap_or_default(), &node.id)?;
                }
                node.parents.push(root);
            }
            store.touch(&mut node);
            store.update(&node)?;
            Ok(node)
        })
    }

    /// POST nodes/{new_parent}/children {fromParent, childId}: an atomic move.
    pub fn move_child(&mut self, new_parent: &str, from: &str, child: &str) -> StoreResult<Node> {
        self.atomically(|store| {
            let mut node = store.require(child)?;
            if node.status != Status::Available {
                return Err(StoreError::Invalid(format!(
                    "node {child} is in the trash; restore it before moving it"
                )));
            }
            if !node.parents.iter().any(|p| p == from) {
                return Err(StoreError::Invalid(format!(
                    "{from} is not a parent of {child}"
                )));
            }
            store.check_no_cycle(&node, new_parent)?;
            if from != new_parent {
                store.check_slot(
                    new_parent,
                    node.name.as_deref().unwrap_or_default(),
                    &node.id,
                )?;
                let already = node.parents.iter().any(|p| p == new_parent);
                node.parents.retain(|p| p != from);
                if !already {
                    node.parents.push(new_parent.to_string());
                }
            }
            store.touch(&mut node);
            store.update(&node)?;
            Ok(node)
        })
    }

    pub fn trash(&mut self, id: &str) -> StoreResult<Node> {
        self.atomically(|store| {
            let mut node = store.require(id)?;
            if node.is_root {
                return Err(StoreError::Invalid("the root cannot be trashed".into()));
            }
            if node.status == Status::Trash {
                return Ok(node);
            }
            if node.status == Status::Purged {
                return Err(StoreError::NotFound(id.to_string()));
            }
            node.status = Status::Trash;
            node.trashed_at = Some(ids::now());
            store.touch(&mut node);
            store.update(&node)?;
            Ok(node)
        })
    }

    pub fn restore(&mut self, id: &str) -> StoreResult<Node> {
        self.atomically(|store| {
            let mut node = store.require(id)?;
            match node.status {
                Status::Available => return Ok(node),
                Status::Purged => return Err(StoreError::NotFound(id.to_string())),
                Status::Trash | Status::Pending => {}
            }
            let name = node.name.clone().unwrap_or_default();
            for parent in &node.parents {
                store.check_slot(parent, &name, &node.id)?;
            }
            node.status = Status::Available;
            node.trashed_at = None;
            store.touch(&mut node);
            store.update(&node)?;
            Ok(node)
        })
    }

    /// Purges what was trashed before `cutoff` (Amazon emptied the trash after 30 days),
    /// with the subtrees of purged folders. Returns how many nodes were purged.
    pub fn purge_trashed_before(&mut self, cutoff: &str) -> StoreResult<usize> {
        let doomed: Vec<String> = self
            .conn
            .prepare("SELECT id FROM nodes WHERE status = 'TRASH' AND trashed_at < ?1")?
            .query_map([cutoff], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut purged = 0;
        let mut stack = doomed;
        let mut blobs = Vec::new();
        self.atomically(|store| {
            while let Some(id) = stack.pop() {
                let Some(mut node) = store.get(&id)? else { continue };
                if node.status == Status::Purged {
                    continue;
                }
                node.status = Status::Purged;
                if let Some(c) = &node.content {
                    blobs.push(c.blob.clone());
                }
                store.touch(&mut node);
                store.update(&node)?;
                purged += 1;
                // Children whose every parent is now purged go too.
                let children: Vec<String> = store
                    .conn
                    .prepare_cached("SELECT child FROM parents WHERE parent = ?1")?
                    .query_map([&id], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                for child in children {
                    let orphan: bool = store.conn.query_row(
                        "SELECT NOT EXISTS (SELECT 1 FROM parents p JOIN nodes n ON n.id = p.parent \
                         WHERE p.child = ?1 AND n.status != 'PURGED')",
                        [&child],
                        |r| r.get(0),
                    )?;
                    if orphan {
                        stack.push(child);
                    }
                }
            }
            Ok(())
        })?;
        for blob in blobs {
            let _ = std::fs::remove_file(self.blob_path(&blob));
        }
        Ok(purged)
    }

    /// Backdates a trashed node (the demo shows items at various ages in the trash).
    pub fn set_trashed_at(&mut self, id: &str, when: &str) -> StoreResult<()> {
        self.conn.execute(
            // Trashing bumps modifiedDate, which is all a client sees of when it happened.
            "UPDATE nodes SET trashed_at = ?2, modified = ?2 WHERE id = ?1",
            [id, when],
        )?;
        Ok(())
    }

    /// The OAuth tables live in the same database, so `--data` persists tokens too.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

fn blob_name(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string()
}

fn is_document(content_type: &str, extension: &str) -> bool {
    content_type.starts_with("text/")
        || content_type == "application/pdf"
        || content_type.contains("officedocument")
        || content_type.contains("msword")
        || content_type.contains("opendocument")
        || matches!(
            extension,
            "doc" | "docx" | "pdf" | "txt" | "md" | "odt" | "rtf"
        )
}

/// The names the service refuses: empty, containing `/` or NUL, or `.`/`..`.
pub fn validate_name(name: &str) -> StoreResult<()> {
    if name.is_empty() {
        return Err(StoreError::Invalid("name must not be empty".into()));
    }
    if name.contains('/') {
        return Err(StoreError::Invalid(format!(
            "invalid name {name:?}: names cannot contain '/'"
        )));
    }
    if name.contains('\0') {
        return Err(StoreError::Invalid(
            "invalid name: names cannot contain NUL".into(),
        ));
    }
    if name == "." || name == ".." {
        return Err(StoreError::Invalid(format!("invalid name {name:?}")));
    }
    if name.len() > 1024 {
        return Err(StoreError::Invalid("name is longer than 1024 bytes".into()));
    }
    Ok(())
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn parse_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn node_from_row(r: &Row<'_>) -> rusqlite::Result<Node> {
    let kind: String = r.get(2)?;
    let content = match r.get::<_, Option<String>>(14)? {
        Some(md5) => Some(Content {
            size: r.get::<_, Option<i64>>(13)?.unwrap_or(0).max(0) as u64,
            md5,
            content_type: r.get::<_, Option<String>>(15)?.unwrap_or_default(),
            extension: r.get::<_, Option<String>>(16)?.unwrap_or_default(),
            version: r.get::<_, Option<i64>>(17)?.unwrap_or(1),
            content_date: r.get::<_, Option<String>>(18)?.unwrap_or_default(),
            blob: r.get::<_, Option<String>>(19)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Node {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: if kind == "FILE" {
            Kind::File
        } else {
            Kind::Folder
        },
        status: Status::parse(&r.get::<_, String>(3)?),
        is_root: r.get(4)?,
        parents: parse_list(&r.get::<_, String>(5)?),
        created: r.get(6)?,
        modified: r.get(7)?,
        version: r.get(8)?,
        labels: parse_list(&r.get::<_, String>(9)?),
        description: r.get(10)?,
        created_by: r.get(11)?,
        etag: r.get(12)?,
        content,
        trashed_at: r.get(20)?,
        seq: r.get(21)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(store: &Store, bytes: &[u8]) -> StagedBlob {
        use md5::{Digest, Md5};
        let path = store.temp_path();
        std::fs::write(&path, bytes).unwrap();
        StagedBlob {
            path,
            size: bytes.len() as u64,
            md5: hex::encode(Md5::digest(bytes)),
        }
    }

    fn spec(name: &str, parent: &str) -> NewNode {
        NewNode {
            name: name.into(),
            parents: vec![parent.into()],
            created_by: "test".into(),
            ..Default::default()
        }
    }

    #[test]
    fn names_clash_case_insensitively_but_not_with_trash() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let root = store.root_id().to_string();
        let first = store.create_folder(&spec("Photos", &root)).unwrap();
        let clash = store.create_folder(&spec("PHOTOS", &root)).unwrap_err();
        assert!(
            matches!(clash, StoreError::NameExists { ref existing, .. } if *existing == first.id)
        );
        store.trash(&first.id).unwrap();
        let second = store.create_folder(&spec("photos", &root)).unwrap();
        // Restoring the first now clashes with the second.
        assert!(matches!(
            store.restore(&first.id),
            Err(StoreError::NameExists { .. })
        ));
        store.trash(&second.id).unwrap();
        assert_eq!(store.restore(&first.id).unwrap().status, Status::Available);
    }

    #[test]
    fn refused_upload_leaves_no_blob() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let root = store.root_id().to_string();
        store
            .create_file(&spec("a.txt", &root), staged(&store, b"one"))
            .unwrap();
        let blob = staged(&store, b"two");
        assert!(store.create_file(&spec("A.TXT", &root), blob).is_err());
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("blobs")).unwrap().count(),
            1
        );
    }

    #[test]
    fn folder_cannot_move_into_its_descendant() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let root = store.root_id().to_string();
        let a = store.create_folder(&spec("a", &root)).unwrap();
        let b = store.create_folder(&spec("b", &a.id)).unwrap();
        assert!(matches!(
            store.move_child(&b.id, &root, &a.id),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store.add_parent(&a.id, &a.id),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn purge_takes_the_subtree_and_its_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let root = store.root_id().to_string();
        let folder = store.create_folder(&spec("old", &root)).unwrap();
        let file = store
            .create_file(&spec("f.bin", &folder.id), staged(&store, b"x"))
            .unwrap();
        store.trash(&folder.id).unwrap();
        assert_eq!(
            store
                .purge_trashed_before("2000-01-01T00:00:00.000Z")
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .purge_trashed_before("9999-01-01T00:00:00.000Z")
                .unwrap(),
            2
        );
        assert_eq!(store.require(&file.id).unwrap().status, Status::Purged);
        assert_eq!(
            std::fs::read_dir(dir.path().join("blobs")).unwrap().count(),
            0
        );
    }
}
