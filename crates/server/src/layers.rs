//! The direction of imports between the server's role folders, checked on the source text: the
//! use cases (`app/`) and the plumbing (`web/`) never reach into the ends that call them
//! (`public/`, `staff/`, `api/`, `open311/`, `opendata/`) or into the background `workers/`, so
//! that a use case can be called from any end and a helper from any page.

use std::path::Path;

/// The folders `app/` and `web/` must not import from.
const CALLERS: [&str; 6] = ["public", "staff", "api", "open311", "opendata", "workers"];

/// Every `crate::…` path a source text names, with the `crate::{a::…, b}` groups spelled out.
fn crate_paths(source: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            paths.extend(group[..end].split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()));
        } else {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            paths.push(rest[..end].to_owned());
        }
    }
    paths
}

/// The first segment of each path that names a calling folder, with the file it is in.
fn reaches_into_callers(folder: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![folder.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                for p in crate_paths(&source) {
                    let first = p.split("::").next().unwrap_or_default();
                    if CALLERS.contains(&first) {
                        found.push(format!("{}: crate::{p}", path.display()));
                    }
                }
            }
        }
    }
    found.sort();
    found
}

#[test]
fn paths_are_read_from_plain_and_grouped_imports() {
    let source =
        "use crate::web::error::AppError;\nuse crate::{public::home, state::AppState};\nlet x = crate::workers::run();";
    assert_eq!(crate_paths(source), ["web::error::AppError", "public::home", "state::AppState", "workers::run"]);
}

#[test]
fn use_cases_and_plumbing_never_import_the_ends_or_the_workers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for folder in ["app", "web"] {
        let found = reaches_into_callers(&src.join(folder));
        assert!(found.is_empty(), "{folder}/ imports what calls it:\n{}", found.join("\n"));
    }
}
