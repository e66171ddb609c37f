//! The layout's rules, checked on the source: the pure core and the kinds do no IO and know
//! nothing of the front ends, and no source file grows past the size a reader can hold.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources(under: &str) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(under),
        &mut files,
    );
    assert!(!files.is_empty(), "no sources under {under}");
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).expect("readable source");
            (f, text)
        })
        .collect()
}

/// What the pure layers must not name: async runtimes, the Kubernetes client, gRPC, the file
/// system, processes and sockets, and the crate's own IO shells and front ends.
const FORBIDDEN: [&str; 14] = [
    "tokio",
    "kube::",
    "kube_client",
    "tonic",
    "std::fs",
    "std::net",
    "std::process",
    "crate::cluster",
    "crate::deploy",
    "crate::wait",
    "crate::state",
    "crate::provider",
    "crate::cli",
    "crate::manifest",
];

/// The forbidden words on each line of code (comments aside), as `line: word`.
fn violations(text: &str) -> Vec<String> {
    words_in(text, &FORBIDDEN)
}

/// The `words` on each line of code (comments aside), as `line: word`.
fn words_in(text: &str, words: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        for &word in words {
            if code.contains(word) {
                found.push(format!("{}: {word}", n + 1));
            }
        }
    }
    found
}

#[test]
fn core_and_kinds_do_no_io_and_know_no_front_end() {
    let mut found = Vec::new();
    for layer in ["src/core", "src/kinds"] {
        for (file, text) in sources(layer) {
            found.extend(
                violations(&text)
                    .into_iter()
                    .map(|v| format!("{}:{v}", file.display())),
            );
        }
    }
    assert!(
        found.is_empty(),
        "IO or front ends in the pure layers:\n{}",
        found.join("\n")
    );
}

/// APIs that exist on some operating systems only. `src/os.rs` holds every use of them, each
/// behind `cfg` with a fallback, so the crate builds for Linux, macOS and Windows.
const OS_SPECIFIC: [&str; 8] = [
    "std::os::unix",
    "std::os::windows",
    "std::os::linux",
    "tokio::signal::unix",
    "tokio::signal::windows",
    "libc::",
    "nix::",
    "/proc/",
];

#[test]
fn os_specific_calls_live_in_src_os_rs_only() {
    let mut found = Vec::new();
    for (file, text) in sources("src") {
        if file.ends_with("src/os.rs") {
            continue;
        }
        found.extend(
            words_in(&text, &OS_SPECIFIC)
                .into_iter()
                .map(|v| format!("{}:{v}", file.display())),
        );
    }
    assert!(
        found.is_empty(),
        "OS-specific calls outside src/os.rs (move them there, behind cfg, with a portable fallback):\n{}",
        found.join("\n")
    );
    let os = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/os.rs"))
        .expect("src/os.rs");
    assert!(
        !words_in(&os, &OS_SPECIFIC).is_empty(),
        "the check sees src/os.rs's calls"
    );
}

#[test]
fn a_planted_violation_is_found_and_a_comment_is_not() {
    assert_eq!(
        violations("use serde_json::Value;\n// tokio is not used here\nuse tokio::fs;\n"),
        ["3: tokio"]
    );
    assert_eq!(violations("let x = std::fs::read(p);"), ["1: std::fs"]);
}

#[test]
fn the_core_does_not_depend_on_the_kinds() {
    let offending: Vec<String> = sources("src/core")
        .into_iter()
        .filter(|(_, text)| text.contains("crate::kinds"))
        .map(|(f, _)| f.display().to_string())
        .collect();
    assert!(offending.is_empty(), "core imports kinds: {offending:?}");
}
