//! Checks of the code's shape, in the spirit of rust-analyzer's tidy tests: the modules of
//! `src/` import each other without cycles, the worker side (untrusted, in the sandboxed
//! child) does not reach the store, the server's state or the HTTP stack, and only the HTTP
//! edge knows axum and utoipa.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`["campaigns", "runs"]`) → its source, for every file under `src/`.
fn modules() -> Sources {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&p).unwrap();
            // Unit tests may reach anywhere.
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            (parts, code)
        })
        .collect()
}

/// The modules a source names through `crate::…` paths (in code and doc links alike), as the
/// longest prefix that is a module.
fn imports(src: &str, known: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    let mut add = |path: &str| {
        let parts: Vec<String> = path
            .split("::")
            .map(|s| s.trim().to_string())
            .take_while(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
            .collect();
        for n in (1..=parts.len()).rev() {
            if known.contains(&parts[..n].to_vec()) {
                out.insert(parts[..n].to_vec());
                return;
            }
        }
    };
    for (i, _) in src.match_indices("crate::") {
        let rest = &src[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a, b::c}`
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                add(item);
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            add(&rest[..end]);
        }
    }
    out
}

/// Strongly connected groups of more than one module (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on: BTreeSet<&'a Vec<String>>,
        out: Vec<Vec<String>>,
    }
    impl<'a> T<'a> {
        fn visit(&mut self, v: &'a Vec<String>) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on.insert(v);
            for w in &self.g[v] {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let l = self.low[v].min(self.low[w]);
                    self.low.insert(v, l);
                } else if self.on.contains(w) {
                    let l = self.low[v].min(self.index[w]);
                    self.low.insert(v, l);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    comp.push(w.join("::"));
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.out.push(comp);
                }
            }
        }
    }
    let mut t = T {
        g: graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.out
}

/// Module → its source; module → the modules it names.
type Sources = BTreeMap<Vec<String>, String>;
type Graph = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

fn graph() -> (Sources, Graph) {
    let mods = modules();
    let known: BTreeSet<Vec<String>> = mods.keys().filter(|k| !k.is_empty()).cloned().collect();
    let graph = mods
        .iter()
        .map(|(m, src)| {
            let mut to = imports(src, &known);
            to.remove(m);
            (m.clone(), to)
        })
        .collect();
    (mods, graph)
}

#[test]
fn no_module_cycles_in_src() {
    let (_, g) = graph();
    assert!(g.len() > 40, "src/ was read: {} modules", g.len());
    let found = cycles(&g);
    assert!(
        found.is_empty(),
        "modules that import each other in a circle (break one arrow of each):\n{}",
        found
            .iter()
            .map(|c| format!("  {}", c.join(", ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let known: BTreeSet<Vec<String>> = [vec!["a".into()], vec!["b".into()], vec!["c".into()]]
        .into_iter()
        .collect();
    let mut g = BTreeMap::new();
    g.insert(vec!["a".to_string()], imports("use crate::b::X;", &known));
    g.insert(
        vec!["b".to_string()],
        imports("use crate::{c, a::Y};", &known),
    );
    g.insert(
        vec!["c".to_string()],
        imports("fn f() { crate::c::g() }", &known),
    );
    assert_eq!(cycles(&g), vec![vec!["a".to_string(), "b".to_string()]]);
}

/// The worker side runs untrusted in the sandbox: it never opens the store, never sees the
/// server's state, and has no HTTP stack.
#[test]
fn the_worker_side_reaches_no_store_state_or_http() {
    let (mods, _) = graph();
    let worker_side = ["worker"];
    let forbidden = [
        "botyard_shards",
        "crate::state",
        "axum",
        "utoipa",
        "crate::http",
        "crate::error",
    ];
    let mut seen = 0;
    for (m, src) in &mods {
        if !m.first().is_some_and(|f| worker_side.contains(&f.as_str())) {
            continue;
        }
        seen += 1;
        for f in forbidden {
            assert!(!src.contains(f), "{} uses {f}", m.join("::"));
        }
    }
    assert!(seen >= 10, "worker-side modules found: {seen}");
}

/// Only the HTTP edge knows axum and utoipa: the domain, the runtime and the security plumbing
/// are plain Rust. Schemas live on `http/` view types, and `http/error.rs` alone maps an
/// [`AppError`](botyard::error::AppError) to a status.
#[test]
fn only_the_http_edge_knows_axum_and_utoipa() {
    let (mods, _) = graph();
    let mut checked = 0;
    for (m, src) in &mods {
        // The crate root and `startup` wire the server together; `http/` is the edge itself.
        if m.is_empty() || m.first().is_some_and(|f| f == "http" || f == "startup") {
            continue;
        }
        let name = m.join("::");
        let knows = ["axum", "utoipa"].iter().any(|w| {
            src.match_indices(w).any(|(i, _)| {
                let before = src[..i].chars().next_back();
                let after = src[i + w.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        });
        assert!(!knows, "{name} uses axum or utoipa: that belongs in http/");
        checked += 1;
    }
    assert!(checked >= 40, "modules checked: {checked}");
}

/// Every text the console shows is in the catalogue, in both languages, and the catalogue
/// holds nothing no page uses: keys in templates (`c.t.s("…")`) and in the console's code
/// (string literals shaped like a catalogue key).
#[test]
fn console_texts_are_catalogued_and_used() {
    use std::collections::BTreeSet;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let texts = botyard::i18n::console::TEXTS;
    let known: BTreeSet<&str> = texts.iter().map(|(k, _, _)| *k).collect();
    let prefixes: BTreeSet<&str> = known.iter().filter_map(|k| k.split('.').next()).collect();
    let mut sources = String::new();
    for dir in [
        "web/templates/console",
        "miniapp/templates/app",
        "web/templates/help",
        "web/templates/store",
        "src/http/console",
    ] {
        for e in std::fs::read_dir(root.join(dir)).expect(dir) {
            let p = e.expect("entry").path();
            sources.push_str(&std::fs::read_to_string(&p).expect("read"));
        }
    }
    let mut used = BTreeSet::new();
    for (i, _) in sources.match_indices('"') {
        let rest = &sources[i + 1..];
        let Some(end) = rest.find('"') else { continue };
        let lit = &rest[..end];
        let shaped = lit
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
            && !lit.is_empty();
        if !shaped {
            continue;
        }
        let prefix = lit.split('.').next().unwrap_or("");
        if known.contains(lit) || (lit.contains('.') && prefixes.contains(prefix)) {
            used.insert(lit.to_string());
        }
    }
    let missing: Vec<&String> = used
        .iter()
        .filter(|k| !known.contains(k.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "used but not in i18n/console.rs: {missing:?}"
    );
    let unused: Vec<&&str> = known.iter().filter(|k| !used.contains(**k)).collect();
    assert!(
        unused.is_empty(),
        "in i18n/console.rs but used nowhere: {unused:?}"
    );
    assert!(used.len() > 100, "keys found: {}", used.len());
}
