//! The Drive as a pane sees it: the drive client's nodes turned into entries. Delete is
//! always to the trash (the API has nothing else); the trash has its own listing and restore.

use std::sync::Arc;

use super::{Entry, Fs, FsError, FsResult, Key, PageSink, Space, parse_date};
use crate::drive::Client;
use crate::drive::model::Node;

#[derive(Clone)]
pub struct DriveFs {
    pub client: Arc<Client>,
}

fn id_of(key: &Key) -> FsResult<&str> {
    match key {
        Key::Drive(id) => Ok(id),
        Key::Local(p) => Err(FsError::Refused(format!(
            "{} is local, not on the Drive",
            p.display()
        ))),
    }
}

/// A node as a pane row. In the trash, modifiedDate is when it was trashed.
pub fn entry(node: &Node) -> Entry {
    Entry {
        name: node.name().to_string(),
        key: Key::Drive(node.id.clone()),
        is_dir: node.is_folder(),
        size: node.size(),
        modified: node.modified_date.as_deref().and_then(parse_date),
        md5: node.md5().map(str::to_string),
    }
}

impl DriveFs {
    /// The trash, page by page; only top-level trashed items, as the service lists them.
    pub async fn list_trash(&self, page: PageSink<'_>) -> FsResult<()> {
        let mut pages = self.client.trash_pages();
        while let Some(nodes) = pages.next_page().await? {
            page(nodes.iter().map(entry).collect());
        }
        Ok(())
    }

    pub async fn restore(&self, entry: &Key) -> FsResult<()> {
        self.client.restore(id_of(entry)?).await?;
        Ok(())
    }

    pub async fn node(&self, entry: &Key) -> FsResult<Node> {
        Ok(self.client.node(id_of(entry)?).await?)
    }

    pub async fn root(&self) -> FsResult<Key> {
        Ok(Key::Drive(self.client.root_id().await?))
    }
}

impl Fs for DriveFs {
    async fn list(&self, dir: &Key, page: PageSink<'_>) -> FsResult<()> {
        let mut pages = self.client.children(id_of(dir)?);
        loop {
            match pages.next_page().await {
                Ok(Some(nodes)) => page(nodes.iter().map(entry).collect()),
                Ok(None) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn mkdir(&self, parent: &Key, name: &str) -> FsResult<()> {
        self.client.mkdir(id_of(parent)?, name).await?;
        Ok(())
    }

    async fn rename(&self, entry: &Key, name: &str) -> FsResult<()> {
        self.client.rename(id_of(entry)?, name).await?;
        Ok(())
    }

    async fn trash(&self, entry: &Key) -> FsResult<()> {
        self.client.trash(id_of(entry)?).await?;
        Ok(())
    }

    async fn space(&self, _dir: &Key) -> FsResult<Space> {
        let quota = self.client.quota().await?;
        Ok(Space {
            free: Some(quota.available),
            used: Some(quota.quota.saturating_sub(quota.available)),
            total: Some(quota.quota),
        })
    }
}
