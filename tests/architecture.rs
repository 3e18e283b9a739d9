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
            "metrics", "attr", "model", "data", "train", "io", "stats", "device", "shim",
        ],
    ),
    // The report on the claims.
    (
        "report",
        &[
            "claims",
            "metrics",
            "attr",
            "model",
            "train",
            "data",
            "io",
            "interrupt",
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
            "report", "claims", "metrics", "attr", "model", "train", "data", "io", "stats",
            "device", "progress", "npy", "shim",
        ],
    ),
    (
        "verify",
        &[
            "recompute",
            "report",
            "claims",
            "metrics",
            "attr",
            "model",
            "train",
            "data",
            "io",
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
            "verify",
            "recompute",
            "report",
            "claims",
            "metrics",
            "attr",
            "model",
            "train",
            "data",
            "io",
            "interrupt",
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
            "reproduce",
            "verify",
            "recompute",
            "report",
            "claims",
            "metrics",
            "attr",
            "model",
            "train",
            "data",
            "io",
            "interrupt",
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

/// The top-level module a file of `src/` belongs to (`src/attr/saliency.rs` -> `attr`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
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
        let code = line.split("//").next().unwrap_or("");
        out.push((i + 1, code.to_string()));
    }
    out
}

/// Every `crate::<module>` a line names.
fn named_modules(line: &str) -> Vec<String> {
    line.match_indices("crate::")
        .filter(|(i, _)| {
            *i == 0
                || !(line.as_bytes()[i - 1].is_ascii_alphanumeric()
                    || line.as_bytes()[i - 1] == b'_')
        })
        .map(|(i, m)| {
            line[i + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|m| !m.is_empty())
        .collect()
}

/// Every code line (see [`code_lines`]) of `src/`, sorted by file: the file's path relative
/// to the repository, its top-level module, the line number and the code.
fn src_code_lines() -> Vec<(PathBuf, String, usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
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
    for (file, module, n, line) in src_code_lines() {
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(may_use) = allowed.get(module.as_str()) else {
            violations.insert(format!(
                "{}: module `{module}` has no row in tests/architecture.rs ALLOWED (add it at its layer)",
                file.display()
            ));
            continue;
        };
        for used in named_modules(&line) {
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

/// The print macros, whose output belongs to the command line.
const PRINTS: [&str; 4] = ["println!(", "eprintln!(", "print!(", "eprint!("];

/// Whether a code line calls a print macro (`eprint!(` is not `print!(`).
fn prints(line: &str) -> bool {
    PRINTS.iter().any(|p| {
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
        .filter(|(_, module, _, line)| module != "cli" && module != "main" && prints(line))
        .map(|(file, module, n, _)| {
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
    assert_eq!(named_modules("use crate::report::stats;"), vec!["report"]);
    assert_eq!(
        named_modules("let x = crate::eval::input_tensor(crate::io::a);"),
        vec!["eval", "io"]
    );
    assert!(named_modules("use sarxai_crate::x;").is_empty());
    let lines =
        code_lines("use crate::a; // crate::b\n#[cfg(test)]\nmod tests {\nuse crate::c;\n}");
    assert_eq!(lines.len(), 1);
    assert_eq!(named_modules(&lines[0].1), vec!["a"]);
}
