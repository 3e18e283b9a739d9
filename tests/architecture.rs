//! The layering rule of ARCHITECTURE.md, checked on the source: dependencies run one way,
//! from the command line down to data and model. A module may name (`crate::m`) only the
//! modules its row of [`ALLOWED`] lists; test code (`#[cfg(test)]` modules) and comments
//! are exempt. A violation names the file, the line and the rule it breaks. Only cli/ (and
//! main.rs) prints: a print macro anywhere else in src/ is a violation too (progress bars
//! are drawn by indicatif on a handle the caller chooses, hidden when stderr is no terminal).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each top-level module of `src/` and the modules it may use, bottom to top.
const ALLOWED: &[(&str, &[&str])] = &[
    // Platform: files, digests, progress, allocator, the C++ shim, statistics.
    ("io", &[]),
    ("interrupt", &[]),
    ("layout", &[]),
    ("progress", &[]),
    ("malloc", &[]),
    ("mkl", &[]),
    ("stats", &[]),
    ("shim", &[]),
    ("device", &["shim"]),
    // Data and model at the bottom.
    ("data", &["io", "progress", "stats"]),
    ("npy", &["data", "io"]),
    ("model", &["io", "device", "shim"]),
    // Training (and evaluation) on data and model.
    (
        "train",
        &[
            "data",
            "model",
            "io",
            "interrupt",
            "layout",
            "progress",
            "device",
            "shim",
            "stats",
            "malloc",
            "mkl",
        ],
    ),
    // The attribution methods on the model alone.
    ("attr", &["model", "device", "shim"]),
    // Metrics on the methods.
    (
        "metrics",
        &["attr", "model", "data", "io", "stats", "device"],
    ),
    // The paper's claims on metrics and statistics (and the run's pins).
    (
        "claims",
        &[
            "metrics", "attr", "model", "data", "train", "io", "layout", "stats", "device", "shim",
        ],
    ),
    // The study's scoring on the claims' data.
    (
        "score",
        &[
            "claims",
            "metrics",
            "attr",
            "model",
            "train",
            "data",
            "io",
            "interrupt",
            "layout",
            "stats",
            "device",
            "progress",
            "npy",
            "shim",
            "mkl",
        ],
    ),
    // The study composes every stage and returns values; it never parses or prints.
    (
        "recompute",
        &[
            "score", "claims", "metrics", "attr", "model", "train", "data", "io", "layout",
            "stats", "device", "progress", "npy", "shim",
        ],
    ),
    (
        "verify",
        &[
            "recompute",
            "score",
            "claims",
            "metrics",
            "attr",
            "model",
            "train",
            "data",
            "io",
            "layout",
            "stats",
            "device",
            "progress",
            "npy",
            "shim",
        ],
    ),
    // The page drawn from a checked run.
    (
        "report",
        &[
            "verify",
            "recompute",
            "score",
            "claims",
            "metrics",
            "attr",
            "model",
            "train",
            "data",
            "io",
            "layout",
            "stats",
            "device",
            "progress",
            "npy",
            "shim",
        ],
    ),
    (
        "reproduce",
        &[
            "report",
            "verify",
            "recompute",
            "score",
            "claims",
            "metrics",
            "attr",
            "model",
            "train",
            "data",
            "io",
            "interrupt",
            "layout",
            "stats",
            "device",
            "progress",
            "npy",
            "shim",
            "malloc",
        ],
    ),
    // The command line on top: the only place that parses arguments and prints.
    (
        "cli",
        &[
            "report",
            "reproduce",
            "verify",
            "recompute",
            "score",
            "claims",
            "metrics",
            "attr",
            "model",
            "train",
            "data",
            "io",
            "interrupt",
            "layout",
            "stats",
            "device",
            "progress",
            "npy",
            "shim",
            "malloc",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The code lines of a file that the rule applies to: up to its `#[cfg(test)]` module,
/// with `//` comments removed.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|(_, next)| next.trim_start().starts_with("mod tests"))
        {
            break;
        }
        let mut code = line.split("//").next().unwrap_or("").to_string();
        // A `use` whose group spans lines is read as one line (numbered by its first).
        if is_use(&code) {
            while !code.contains(';') {
                let Some((_, next)) = lines.next() else { break };
                code.push(' ');
                code.push_str(next.split("//").next().unwrap_or("").trim());
            }
        }
        out.push((i + 1, code));
    }
    out
}

/// Whether a code line starts a `use` declaration (`use`, `pub use`, `pub(crate) use`).
fn is_use(line: &str) -> bool {
    let t = line.trim_start();
    let t = t
        .strip_prefix("pub(crate) ")
        .or_else(|| t.strip_prefix("pub(super) "))
        .or_else(|| t.strip_prefix("pub "))
        .unwrap_or(t);
    t.starts_with("use ")
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The paths a path expression starting at `s` names, its groups expanded:
/// `a::{b, c::{d, e}}` gives `a::b`, `a::c::d`, `a::c::e` (as segment lists).
fn expand(s: &str) -> Vec<Vec<String>> {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('{') {
        // Items of the group, split at its top-level commas.
        let (mut depth, mut items, mut cur) = (0usize, Vec::new(), String::new());
        for c in rest.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        items.push(cur);
        return items
            .iter()
            .filter(|i| !i.trim().is_empty())
            .flat_map(|i| expand(i))
            .collect();
    }
    let head = ident(s);
    if head.is_empty() {
        return Vec::new();
    }
    match s[head.len()..].strip_prefix("::") {
        Some(rest) if rest.trim_start().starts_with('{') || !ident(rest).is_empty() => expand(rest)
            .into_iter()
            .map(|mut p| {
                p.insert(0, head.clone());
                p
            })
            .collect(),
        _ => vec![vec![head]],
    }
}

/// Every path a line names from `crate::`, `super::` or `self::` (groups expanded), each
/// with its anchor: `("crate", [report, stats])`, `("super super", [relu, ReluRule])`.
fn named_paths(line: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    for anchor in ["crate::", "super::", "self::"] {
        for (i, m) in line.match_indices(anchor) {
            let boundary = i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b':');
            if !boundary {
                continue;
            }
            // `super::super::x`: count the chain.
            let mut rest = &line[i + m.len()..];
            let mut supers = usize::from(anchor == "super::");
            while anchor == "super::" && rest.starts_with("super::") {
                supers += 1;
                rest = &rest["super::".len()..];
            }
            let name = match anchor {
                "crate::" => "crate".to_string(),
                "self::" => "self".to_string(),
                _ => vec!["super"; supers].join(" "),
            };
            for p in expand(rest) {
                out.push((name.clone(), p));
            }
        }
    }
    out
}

/// Every `crate::<module>` a line names (groups expanded).
fn named_modules(line: &str) -> Vec<String> {
    let mut out: Vec<String> = named_paths(line)
        .into_iter()
        .filter(|(a, _)| a == "crate")
        .filter_map(|(_, p)| p.first().cloned())
        .collect();
    out.dedup();
    out
}

/// The module path of a file of `src/`: `src/report/html/tables.rs` is
/// `[report, html, tables]`, `src/stats/mod.rs` is `[stats]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut p: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if p.last().is_some_and(|l| l == "mod") {
        p.pop();
    }
    p
}

/// The absolute module path a named path resolves to, seen from the file of module `at`
/// (a file module: `super` is its parent).
fn resolve(at: &[String], anchor: &str, path: &[String]) -> Option<Vec<String>> {
    let base: Vec<String> = match anchor {
        "crate" => Vec::new(),
        "self" => at.to_vec(),
        supers => {
            let k = supers.split(' ').count();
            at.get(..at.len().checked_sub(k)?)?.to_vec()
        }
    };
    Some(base.into_iter().chain(path.iter().cloned()).collect())
}

/// Every code line (see [`code_lines`]) of `src/`, sorted by file: the file's path relative
/// to the repository, its module path ([`module_path`]), the line number and the code.
fn src_code_lines() -> Vec<(PathBuf, Vec<String>, usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in &files {
        let module = module_path(&src, file);
        let rel = file.strip_prefix(root).unwrap().to_path_buf();
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in code_lines(&text) {
            out.push((rel.clone(), module.clone(), n, line));
        }
    }
    out
}

#[test]
fn dependencies_run_one_way() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut violations = std::collections::BTreeSet::new();
    for (file, path, n, line) in src_code_lines() {
        let module = path[0].as_str();
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(may_use) = allowed.get(module) else {
            violations.insert(format!(
                "{}: module `{module}` has no row in tests/architecture.rs ALLOWED (add it at its layer)",
                file.display()
            ));
            continue;
        };
        // `crate::m`, grouped `crate::{m, n}`, and `super::super::m` chains that climb to
        // the crate root all name a top-level module.
        for (anchor, named) in named_paths(&line) {
            let Some(abs) = resolve(&path, &anchor, &named) else {
                violations.insert(format!(
                    "{}:{n}: `super` climbs above the crate",
                    file.display()
                ));
                continue;
            };
            let Some(used) = abs.first().filter(|u| allowed.contains_key(u.as_str())) else {
                continue;
            };
            if used != module && !may_use.contains(&used.as_str()) {
                violations.insert(format!(
                    "{}:{n}: `{module}` uses `crate::{used}`, which is not below it \
                     (rule: {module} may use only {may_use:?})",
                    file.display()
                ));
            }
        }
    }
    let violations: Vec<String> = violations.into_iter().collect();
    assert!(
        violations.is_empty(),
        "{} import(s) against the layering of ARCHITECTURE.md:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// Module path -> the file modules of the same top-level module it names. A child naming
/// its parent or another ancestor (`super::Item`) is Rust's nesting, not an edge.
type FileGraph = BTreeMap<Vec<String>, std::collections::BTreeSet<Vec<String>>>;

fn file_graph() -> FileGraph {
    let lines = src_code_lines();
    let files: std::collections::BTreeSet<Vec<String>> =
        lines.iter().map(|(_, p, _, _)| p.clone()).collect();
    let mut graph = FileGraph::new();
    for (_, path, _, line) in &lines {
        for (anchor, named) in named_paths(line) {
            let Some(abs) = resolve(path, &anchor, &named) else {
                continue;
            };
            if abs.first() != path.first() {
                continue;
            }
            // The file that defines it: the longest prefix that is a file module.
            let Some(target) = (1..=abs.len())
                .rev()
                .map(|k| abs[..k].to_vec())
                .find(|p| files.contains(p))
            else {
                continue;
            };
            if target != *path && !path.starts_with(&target) {
                graph.entry(path.clone()).or_default().insert(target);
            }
        }
    }
    graph
}

/// The circles of `graph`: its strongly connected components of more than one file, each
/// as its files in order, joined with ` <-> `.
fn circles(graph: &FileGraph) -> Vec<String> {
    let reach = |from: &Vec<String>| {
        let mut seen = std::collections::BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for m in graph.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    todo.push(m.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&Vec<String>, _> = graph.keys().map(|n| (n, reach(n))).collect();
    let mut out = std::collections::BTreeSet::new();
    for (a, ra) in &reachable {
        let scc: Vec<String> = reachable
            .iter()
            .filter(|(b, rb)| ra.contains(**b) && rb.contains(*a))
            .map(|(b, _)| b.join("::"))
            .collect();
        if scc.len() > 1 {
            out.insert(scc.join(" <-> "));
        }
    }
    out.into_iter().collect()
}

/// No circle of imports between the files of one module (issue 29): `a.rs` using `b.rs`
/// and `b.rs` using `a.rs`, directly or through others, is a room with no floor.
#[test]
fn no_circle_between_the_files_of_a_module() {
    let found = circles(&file_graph());
    assert!(
        found.is_empty(),
        "{} circle(s) of imports between files:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The print macros, whose output belongs to the command line.
const PRINTS: [&str; 4] = ["println!(", "eprintln!(", "print!(", "eprint!("];

/// Whether a code line calls a print macro (`eprint!(` is not `print!(`) or takes the
/// process's standard output or error handle (`std::io::stderr()`, `stdout().lock()`).
fn prints(line: &str) -> bool {
    let handle = ["stderr()", "stdout()"].iter().any(|h| {
        line.match_indices(h).any(|(i, _)| {
            i == 0
                || !(line.as_bytes()[i - 1].is_ascii_alphanumeric()
                    || line.as_bytes()[i - 1] == b'_')
        })
    });
    handle
        || PRINTS.iter().any(|p| {
            line.match_indices(p).any(|(i, _)| {
                i == 0
                    || !(line.as_bytes()[i - 1].is_ascii_alphanumeric()
                        || line.as_bytes()[i - 1] == b'_')
            })
        })
}

#[test]
fn only_the_command_line_prints() {
    let violations: Vec<String> = src_code_lines()
        .into_iter()
        .filter(|(_, path, _, line)| path[0] != "cli" && path[0] != "main" && prints(line))
        .map(|(file, path, n, _)| {
            let module = &path[0];
            format!(
                "{}:{n}: `{module}` prints (rule: only cli/ prints; return the text or tell an observer)",
                file.display()
            )
        })
        .collect();
    assert!(
        violations.is_empty(),
        "{} print(s) outside cli/:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// Every module of `src/` has exactly one row, so a new module must be placed.
#[test]
fn every_module_is_placed_once() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    let rows: Vec<&str> = ALLOWED.iter().map(|(m, _)| *m).collect();
    for m in &declared {
        assert_eq!(
            rows.iter().filter(|r| *r == m).count(),
            1,
            "module `{m}` (src/lib.rs) needs one row in ALLOWED"
        );
    }
    for r in &rows {
        assert!(
            declared.contains(r),
            "ALLOWED names `{r}`, which src/lib.rs does not declare"
        );
    }
}

#[test]
fn the_scanner_sees_what_it_must() {
    assert!(prints("    eprintln!(\"{x}\");") && prints("print!(\"a\")"));
    assert!(!prints("let reprint!(x)") && !prints("format!(\"println\")"));
    assert_eq!(named_modules("use crate::score::stats;"), vec!["score"]);
    assert_eq!(
        named_modules("let x = crate::eval::input_tensor(crate::io::a);"),
        vec!["eval", "io"]
    );
    assert!(named_modules("use sarxai_crate::x;").is_empty());
    // Grouped imports, on one line or several.
    assert_eq!(
        named_modules("use crate::{io, report::{svg, html::escape}};"),
        vec!["io", "report"]
    );
    let grouped = code_lines("use crate::{\n    io,\n    stats::mean, // x\n};\nfn f() {}");
    assert_eq!(grouped.len(), 2);
    assert_eq!(named_modules(&grouped[0].1), vec!["io", "stats"]);
    // `super` chains resolve from the file's module.
    let at: Vec<String> = ["score", "html", "tables"].map(String::from).to_vec();
    let named = named_paths("use super::super::super::io::hex;");
    assert_eq!(
        named,
        vec![(
            "super super super".to_string(),
            vec!["io".to_string(), "hex".to_string()]
        )]
    );
    assert_eq!(
        resolve(&at, &named[0].0, &named[0].1).unwrap(),
        vec!["io", "hex"]
    );
    let named = named_paths("use super::{escape, ReportData};");
    assert_eq!(
        resolve(&at, &named[0].0, &named[0].1).unwrap(),
        vec!["score", "html", "escape"]
    );
    // Handles to the process's output are printing too.
    assert!(prints("let _ = writeln!(std::io::stderr(), \"x\");"));
    assert!(prints("let mut out = io::stdout().lock();"));
    assert!(!prints("let t = ProgressDrawTarget::hidden();"));
    let lines =
        code_lines("use crate::a; // crate::b\n#[cfg(test)]\nmod tests {\nuse crate::c;\n}");
    assert_eq!(lines.len(), 1);
    assert_eq!(named_modules(&lines[0].1), vec!["a"]);
}

/// The circle finder sees a planted circle of three files (html -> tables -> svg -> html, as
/// report/ had before issue 29) and not a chain or a child naming its parent.
#[test]
fn the_circle_finder_sees_a_planted_circle() {
    let m = |p: &str| p.split("::").map(String::from).collect::<Vec<String>>();
    let edge = |g: &mut FileGraph, a: &str, b: &str| {
        g.entry(m(a)).or_default().insert(m(b));
    };
    let mut g = FileGraph::new();
    edge(&mut g, "report::html", "report::html::tables");
    edge(&mut g, "report::html::tables", "report::svg");
    edge(&mut g, "report::scoring", "report::records");
    assert!(circles(&g).is_empty());
    edge(&mut g, "report::svg", "report::html");
    assert_eq!(
        circles(&g),
        vec!["report::html <-> report::html::tables <-> report::svg"]
    );
}

/// The file names of a run directory, read from their owner `src/layout.rs` (every
/// `const NAME: &str = "...";`), and the `score-` folder prefix.
fn layout_names() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("src/layout.rs")).unwrap();
    let mut names: Vec<String> = text
        .lines()
        .filter(|l| l.contains("const ") && l.contains(": &str = \""))
        .filter_map(|l| l.split('"').nth(1).map(|n| format!("\"{n}\"")))
        .collect();
    names.push("\"score-".into());
    names
}

/// Code lines that spell a run-directory name as a literal of its own (`"results.json"`,
/// `format!("score-{p}")`); a name inside a longer message is text for people, not a path.
fn layout_literals(
    lines: &[(PathBuf, Vec<String>, usize, String)],
    names: &[String],
) -> Vec<String> {
    lines
        .iter()
        .filter(|(file, _, _, _)| !file.ends_with("src/layout.rs"))
        .filter_map(|(file, _, n, line)| {
            let hit = names.iter().find(|name| line.contains(name.as_str()))?;
            Some(format!(
                "{}:{n}: {hit} spelled outside src/layout.rs (use the constant there)",
                file.display()
            ))
        })
        .collect()
}

/// One owner of the run directory's layout (issue 29): no file or folder name of a run is
/// spelled outside src/layout.rs.
#[test]
fn run_directory_names_are_spelled_only_by_their_owner() {
    let names = layout_names();
    assert!(names.len() > 20, "{names:?}");
    assert!(names.contains(&"\"per_image.csv\"".to_string()));
    let found = layout_literals(&src_code_lines(), &names);
    assert!(found.is_empty(), "{}", found.join("\n"));
    // Planted: a path built from a literal is found, a message naming a file is not.
    let planted = |code: &str| {
        vec![(
            PathBuf::from("src/x.rs"),
            vec!["x".to_string()],
            1,
            code.to_string(),
        )]
    };
    assert_eq!(
        layout_literals(&planted("let p = dir.join(\"results.json\");"), &names).len(),
        1
    );
    assert_eq!(
        layout_literals(
            &planted("let d = run.join(format!(\"score-{p}\"));"),
            &names
        )
        .len(),
        1
    );
    assert!(layout_literals(&planted("bail!(\"no per_image.csv in {d}\")"), &names).is_empty());
}
