//! `--seed demo`: a believable Drive for the demo and for tests. Photos, documents and
//! music from assets/demo (embedded in the binary), names with spaces, accents, CJK and
//! emoji, a name with rclone's encoded slash, a folder of 5,000 entries, one large file
//! made on the fly, and items in the trash (one trashed weeks ago, so it shows days left).

use md5::{Digest, Md5};
use std::io::Write;

use super::Emu;
use super::store::{NewNode, StagedBlob, Store, StoreError};

#[derive(Debug, Clone)]
pub struct SeedSpec {
    /// Size of the large file in `Videos/` (a few hundred MB by default).
    pub big_file_size: u64,
    /// Entries in the big folder.
    pub many_entries: usize,
}

impl Default for SeedSpec {
    fn default() -> Self {
        SeedSpec {
            big_file_size: 300_000_000,
            many_entries: 5_000,
        }
    }
}

macro_rules! asset {
    ($path:literal) => {
        (
            $path,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/", $path)) as &[u8],
        )
    };
}

const ASSETS: &[(&str, &[u8])] = &[
    asset!("Documents/Welcome to acdc.txt"),
    asset!("Documents/Résumé — draft.txt"),
    asset!("Documents/budget 2017.csv"),
    asset!("Documents/notes.md"),
    asset!("Documents/議事録.txt"),
    asset!("Music/01 — Intro.mp3"),
    asset!("Music/02 — Après la pluie.mp3"),
    asset!("Music/03 — 夜明け.mp3"),
    asset!("Photos/Holiday 2016/beach.png"),
    asset!("Photos/Holiday 2016/mountains.png"),
    asset!("Photos/Holiday 2016/sunset.png"),
    asset!("Photos/cat.png"),
];

/// A few of them for the demo's local folder: a text file, a CJK name, photos, a song.
pub const SAMPLES: &[(&str, &[u8])] = &[ASSETS[3], ASSETS[4], ASSETS[7], ASSETS[8], ASSETS[11]];

const CREATOR: &str = "acdc-demo-seed";

fn stage(
    store: &Store,
    write: impl FnOnce(&mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()>,
) -> Result<StagedBlob, StoreError> {
    let path = store.temp_path();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let mut hasher = Md5::new();
    let mut size = 0u64;
    write(&mut |chunk: &[u8]| {
        hasher.update(chunk);
        size += chunk.len() as u64;
        file.write_all(chunk)
    })?;
    file.flush()?;
    Ok(StagedBlob {
        path,
        size,
        md5: hex::encode(hasher.finalize()),
    })
}

fn bytes_blob(store: &Store, bytes: &[u8]) -> Result<StagedBlob, StoreError> {
    stage(store, |w| w(bytes))
}

fn spec(name: &str, parent: &str) -> NewNode {
    NewNode {
        name: name.to_string(),
        parents: vec![parent.to_string()],
        created_by: CREATOR.into(),
        ..Default::default()
    }
}

/// The folder at `path` (made if missing), starting from the root.
fn folder(store: &mut Store, path: &str) -> Result<String, StoreError> {
    let mut id = store.root_id().to_string();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        id = match store.find_child(&id, part, "")? {
            Some(existing) => existing,
            None => store.create_folder(&spec(part, &id))?.id,
        };
    }
    Ok(id)
}

fn file(store: &mut Store, path: &str, bytes: &[u8]) -> Result<String, StoreError> {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let parent = folder(store, dir)?;
    let blob = bytes_blob(store, bytes)?;
    Ok(store.create_file(&spec(name, &parent), blob)?.id)
}

pub fn seed(emu: &Emu, spec: &SeedSpec) -> Result<(), String> {
    emu.with_store(|store| {
        let root = store.root_id().to_string();
        let (_, children) =
            store.list(Some(&root), "n.status != 'PURGED'", &[], "n.n ASC", 0, 1)?;
        if children > 0 {
            tracing::info!("the Drive already has content; not seeding");
            return Ok(());
        }
        store.atomically(|store| seed_tree(store, spec))
    })
    .map_err(|e| e.to_string())
}

fn seed_tree(store: &mut Store, seed: &SeedSpec) -> Result<(), StoreError> {
    for (path, bytes) in ASSETS {
        file(store, path, bytes)?;
    }
    file(
        store,
        "Music/AC／DC — Live at Donington.mp3",
        b"ID3\x03 a slash in a name: rclone sends it as U+FF0F",
    )?;
    file(
        store,
        "日本語のフォルダ/写真メモ.txt",
        "東京タワーの写真は「Photos」にあります。\n".as_bytes(),
    )?;
    file(
        store,
        "Emoji 🎉 party/🎂 cake recipe.txt",
        "🎂 flour, sugar, eggs, butter\n".as_bytes(),
    )?;
    file(
        store,
        "Emoji 🎉 party/guest list 👥.txt",
        "Ana, Bo, Chloé, Đorđe, 李雷\n".as_bytes(),
    )?;
    file(
        store,
        "Names with spaces & (symbols)/it's [draft] #1 + 50% off!.txt",
        b"filters must escape all of these\n",
    )?;
    folder(store, "Empty folder")?;

    // A large file, written on the fly rather than shipped.
    let videos = folder(store, "Videos")?;
    let size = seed.big_file_size;
    let blob = stage(store, |w| {
        let mut block = vec![0u8; 1 << 20];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for b in block.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
        let mut left = size;
        let mut round: u8 = 0;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            block[0] = round; // no two MiB alike
            round = round.wrapping_add(1);
            w(&block[..n])?;
            left -= n as u64;
        }
        Ok(())
    })?;
    store.create_file(&spec("holiday-2016-full.mp4", &videos), blob)?;

    let logs = folder(store, &format!("Logs ({} files)", seed.many_entries))?;
    for i in 1..=seed.many_entries {
        let name = format!("server-{i:05}.log");
        let blob = bytes_blob(
            store,
            format!("{name}: request {i} served in {} ms\n", i % 97).as_bytes(),
        )?;
        store.create_file(&spec(&name, &logs), blob)?;
    }

    // The trash: one item trashed just now, one folder trashed 25 days ago.
    let old_draft = file(
        store,
        "Documents/Old draft.txt",
        b"superseded by the resume\n",
    )?;
    store.trash(&old_draft)?;
    let old_photos = folder(store, "Old photos")?;
    file(store, "Old photos/blurry.png", ASSETS[ASSETS.len() - 1].1)?;
    store.trash(&old_photos)?;
    let weeks_ago = super::ids::timestamp(chrono::Utc::now() - chrono::Duration::days(25));
    store.set_trashed_at(&old_photos, &weeks_ago)?;
    Ok(())
}
