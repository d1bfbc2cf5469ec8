//! The pipeline's direction (ARCHITECTURE.md): a stage of the library never refers to a
//! later one, and the library never refers to the command line or the app. Read from the
//! source: every `crate::<module>` outside comments, in every file of every module.

use std::path::{Path, PathBuf};

/// The library's modules in pipeline order: each may use only those before it.
const ORDER: &[&str] = &[
    "dist",
    "notation",
    "design",
    "io",
    "ems",
    "cas",
    "data",
    "simulate",
    "anova",
    "moments",
    "reml",
    "unbalanced",
    "means",
    "gauge",
    "power",
    "analysis",
    "report",
    "chart",
];

fn files(p: &Path) -> Vec<PathBuf> {
    if p.is_file() {
        return vec![p.to_path_buf()];
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
        out.extend(files(&e.path()));
    }
    out
}

/// The modules of the crate `text` refers to (`crate::name`), comments left out.
fn references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

#[test]
fn no_stage_refers_to_a_later_one() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut failures = Vec::new();
    for (rank, module) in ORDER.iter().enumerate() {
        let dir = src.join(module);
        let path = if dir.is_dir() {
            dir
        } else {
            src.join(format!("{module}.rs"))
        };
        for file in files(&path) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for r in references(&text) {
                let later = ORDER.iter().position(|m| *m == r).is_some_and(|k| k > rank);
                if later || matches!(r.as_str(), "cli" | "gui") {
                    failures.push(format!("{} refers to crate::{r}", file.display()));
                }
            }
        }
    }
    failures.sort();
    failures.dedup();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_library_module_has_a_place_in_the_order() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("src/lib.rs");
    for line in lib.lines() {
        if let Some(name) = line.trim().strip_prefix("pub mod ") {
            let name = name.trim_end_matches(';');
            assert!(ORDER.contains(&name), "module `{name}` is not in ORDER");
        }
    }
}
