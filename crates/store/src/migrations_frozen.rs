//! Applied migrations never change: every migration file of both engines is listed in
//! `migrations/CHECKSUMS` with its SHA-256, and each listed file still has that checksum. A
//! database that applied a file would refuse to start against an edited copy of it.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

fn listed() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let text = std::fs::read_to_string(root.join("CHECKSUMS")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (path, sum) = l.split_once(' ').unwrap();
            (path.to_owned(), sum.trim().to_owned())
        })
        .collect()
}

fn on_disk() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut out = BTreeMap::new();
    for engine in ["sqlite", "postgres"] {
        for entry in std::fs::read_dir(root.join(engine)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let sum = hex::encode(Sha256::digest(std::fs::read(&path).unwrap()));
            out.insert(format!("{engine}/{name}"), sum);
        }
    }
    out
}

#[test]
fn every_listed_migration_keeps_its_checksum() {
    let disk = on_disk();
    for (path, sum) in listed() {
        let now = disk.get(&path).unwrap_or_else(|| panic!("migration {path} was listed in CHECKSUMS but is gone"));
        assert_eq!(
            now, &sum,
            "migration {path} changed after it was listed: a database that applied it no longer matches. \
             Restore the file and put the change in a new migration."
        );
    }
}

#[test]
fn every_migration_file_is_listed() {
    let listed = listed();
    let missing: Vec<String> =
        on_disk().into_iter().filter(|(p, _)| !listed.contains_key(p)).map(|(p, s)| format!("{p} {s}")).collect();
    assert!(
        missing.is_empty(),
        "append these lines to crates/store/migrations/CHECKSUMS (never change the lines already there):\n{}",
        missing.join("\n")
    );
}
