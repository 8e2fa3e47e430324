//! `manifest.json`, the backup's last entry: what it holds and how to tell it is whole.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bumped when the layout of a backup changes; a reader refuses a format it does not know.
pub const FORMAT: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// Unix seconds when the snapshot was taken.
    pub created_at: i64,
    pub botyard_version: String,
    pub shard_count: u32,
    /// The id of the master key the sealed secrets need (`master.key` inside when present).
    pub key_id: u32,
    pub files: Vec<FileEntry>,
    pub media: Vec<Entry>,
    /// Present when the backup carries the master key (a sealed backup).
    pub master_key: Option<Entry>,
}

/// A store file: its checksum, and what opening it must show.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    /// `catalog` or `shard`.
    pub kind: String,
    pub schema_version: u32,
    pub bytes: u64,
    /// SHA-256, hex.
    pub sha256: String,
    /// Rows per table.
    pub rows: BTreeMap<String, u64>,
}

/// Any other file: its size and checksum.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    /// Rows of every store file together, per table.
    pub fn total_rows(&self) -> u64 {
        self.files.iter().flat_map(|f| f.rows.values()).sum()
    }

    /// The bytes of every file in the backup.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum::<u64>()
            + self.media.iter().map(|m| m.bytes).sum::<u64>()
            + self.master_key.as_ref().map_or(0, |k| k.bytes)
    }
}

/// Where a file may sit inside a backup. Anything else in an archive is refused, so a hostile
/// file cannot write outside the folder it is restored into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    Catalog,
    Shard(u32),
    Media { tenant: u64, name: String },
    MasterKey,
    Manifest,
}

impl Place {
    pub fn parse(path: &str) -> Option<Place> {
        match path {
            "catalog.dump" => return Some(Place::Catalog),
            "master.key" => return Some(Place::MasterKey),
            "manifest.json" => return Some(Place::Manifest),
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("shards/") {
            let n = rest.strip_suffix(".dump")?;
            if n.len() < 2 || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            return n
                .parse()
                .ok()
                .filter(|i| crate::domain::backup::dump_name(*i) == path)
                .map(Place::Shard);
        }
        let rest = path.strip_prefix("media/")?;
        let (tenant, name) = rest.split_once('/')?;
        let tenant: u64 = tenant
            .parse()
            .ok()
            .filter(|t: &u64| tenant == t.to_string())?;
        let ok_name = !name.is_empty()
            && name.len() <= 255
            && name != "."
            && name != ".."
            && !name.contains(['/', '\\', '\0']);
        ok_name.then(|| Place::Media {
            tenant,
            name: name.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_places_are_accepted() {
        assert_eq!(Place::parse("catalog.dump"), Some(Place::Catalog));
        assert_eq!(Place::parse("shards/03.dump"), Some(Place::Shard(3)));
        assert_eq!(Place::parse("shards/120.dump"), Some(Place::Shard(120)));
        assert_eq!(
            Place::parse("media/7/photo.jpg"),
            Some(Place::Media {
                tenant: 7,
                name: "photo.jpg".into()
            })
        );
        for bad in [
            "../catalog.dump",
            "/etc/passwd",
            "catalog.redb",
            "shards/03.redb",
            "shards/3.dump",
            "shards/../x.dump",
            "shards/003.dump",
            "media/7/../../x",
            "media/07/a",
            "media/7/a/b",
            "media/7/..",
            "media/x/a",
            "logs/server.log",
            "catalog.dump/",
        ] {
            assert_eq!(Place::parse(bad), None, "{bad}");
        }
    }
}
