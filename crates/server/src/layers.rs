//! The direction of imports between the server's role folders, checked on the source text: the
//! use cases (`app/`) and the plumbing (`web/`) never reach into the ends that call them
//! (`public/`, `staff/`, `api/`, `open311/`, `opendata/`) or into the background `workers/`, so
//! that a use case can be called from any end and a helper from any page; and no circle of
//! imports between files crosses from one folder into another.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The folders `app/` and `web/` must not import from.
const CALLERS: [&str; 6] = ["public", "staff", "api", "open311", "opendata", "workers"];

/// Every `crate::…` path a source text names, with the `crate::{a::…, b}` groups spelled out.
fn crate_paths(source: &str) -> Vec<String> {
    paths_after(source, "crate::")
}

/// Every path a source text names after `prefix` (`crate::`, `super::`), groups spelled out.
fn paths_after(source: &str, prefix: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(prefix) {
        rest = &rest[at + prefix.len()..];
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

/// Each path in the files of `folder` whose first segment names a calling folder, with its module.
fn reaches_into_callers(modules: &BTreeMap<String, String>, folder: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (name, source) in modules.iter().filter(|(name, _)| name.split("::").next() == Some(folder)) {
        for p in crate_paths(source) {
            if CALLERS.contains(&p.split("::").next().unwrap_or_default()) {
                found.push(format!("{name}: crate::{p}"));
            }
        }
    }
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
    let modules = modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    for folder in ["app", "web"] {
        let found = reaches_into_callers(&modules, folder);
        assert!(found.is_empty(), "{folder}/ imports what calls it:\n{}", found.join("\n"));
    }
}

/// Every source file of the crate by module path (`public::kiosk`, `state`, `lib`), with its text.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(src).unwrap().with_extension("");
                let parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
                let name = parts.iter().filter(|p| *p != "mod").cloned().collect::<Vec<_>>().join("::");
                found.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    found
}

/// The file a `crate::…` path lands in: its longest prefix that names a module, with the crate
/// root's re-exports followed to where they are defined.
fn target_of(path: &str, modules: &BTreeMap<String, String>) -> Option<String> {
    let path = match path.split("::").next() {
        Some("AppState") => "state",
        Some("Config") => "config",
        _ => path,
    };
    let segments: Vec<&str> =
        path.split("::").map(|s| s.trim_matches(|c: char| !c.is_alphanumeric() && c != '_')).collect();
    (1..=segments.len()).rev().map(|n| segments[..n].join("::")).find(|m| modules.contains_key(m))
}

/// The strongly connected groups of files (Tarjan): files that import one another in a circle.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w.as_str()]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w.as_str()) {
                    let low = self.low[v].min(self.index[w.as_str()]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().position(|x| *x == v).unwrap();
                let group: Vec<String> = self.stack.drain(at..).map(str::to_owned).collect();
                if group.len() > 1 {
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk { edges, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), found: Vec::new() };
    for v in edges.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn circles_are_found_between_files() {
    let edges: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")]
        .iter()
        .fold(BTreeMap::new(), |mut m, (from, to)| {
            m.entry((*from).to_owned()).or_default().insert((*to).to_owned());
            m
        });
    let found: Vec<BTreeSet<String>> = circles(&edges).into_iter().map(|c| c.into_iter().collect()).collect();
    assert_eq!(found, [["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>()]);
}

/// The files a file imports: its `crate::` paths, its `super::` paths (a test module's
/// `super::*` is its own file) and, for a folder's `mod.rs`, the children whose items it names.
fn imports(name: &str, source: &str, modules: &BTreeMap<String, String>) -> BTreeSet<String> {
    let parent = name.rsplit_once("::").map_or("", |(p, _)| p);
    let mut found: BTreeSet<String> = crate_paths(source).iter().filter_map(|p| target_of(p, modules)).collect();
    for path in paths_after(source, "super::").iter().filter(|p| !p.is_empty() && *p != "*") {
        let absolute = if parent.is_empty() { path.clone() } else { format!("{parent}::{path}") };
        found.extend(target_of(&absolute, modules));
    }
    for line in source.lines() {
        let declared = line.trim().trim_start_matches("pub ").trim_start_matches("pub(crate) ");
        if let Some(child) = declared.strip_prefix("mod ").and_then(|c| c.strip_suffix(';')) {
            let named = source
                .match_indices(&format!("{child}::"))
                .any(|(at, _)| !source[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':'));
            let module = format!("{name}::{child}");
            if named && modules.contains_key(&module) {
                found.insert(module);
            }
        }
    }
    found.remove(name);
    found.remove("lib");
    found
}

#[test]
fn imports_follow_crate_and_super_paths_and_named_children() {
    let modules: BTreeMap<String, String> = ["staff", "staff::live", "staff::routes", "state", "web::error"]
        .iter()
        .map(|m| ((*m).to_owned(), String::new()))
        .collect();
    let source = "mod live;\nmod routes;\nuse crate::web::error::AppError;\nfn f() { live::router(); }\n";
    assert_eq!(
        imports("staff", source, &modules),
        ["staff::live", "web::error"].iter().map(|s| (*s).to_owned()).collect()
    );
    let child = "use super::{Nav, Staff};\nmod tests { use super::*; }\nuse crate::AppState;\n";
    assert_eq!(imports("staff::live", child, &modules), ["staff", "state"].iter().map(|s| (*s).to_owned()).collect());
}

#[test]
fn no_circle_of_imports_crosses_folders() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    let edges: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .filter(|(name, _)| *name != "layers" && *name != "lib")
        .map(|(name, source)| (name.clone(), imports(name, source, &modules)))
        .collect();
    assert!(edges["public::kiosk"].contains("state") && edges["staff"].contains("staff::live"), "imports are read");
    let folder = |m: &str| m.split("::").next().unwrap_or_default().to_owned();
    let crossing: Vec<String> = circles(&edges)
        .into_iter()
        .filter(|group| group.iter().any(|m| folder(m) != folder(&group[0])))
        .map(|group| group.join(" → "))
        .collect();
    assert!(crossing.is_empty(), "files in different folders import one another in a circle:\n{}", crossing.join("\n"));
}
