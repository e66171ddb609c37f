//! A manifest of 10,000 documents goes through `kjob validate` (the whole pipeline: read, order,
//! check, render, with an empty state store) as one command, while a file just over the reader's
//! document limit is refused with the limit named.

use std::process::Command;

fn document(i: usize) -> String {
    format!(
        "apiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesJob\nmetadata:\n  name: job-{i:05}\nspec:\n  namespace:\n    value: batch\n  image:\n    repo: busybox\n    tag: \"1.36\"\n  command: [sh, -c, \"echo {i}\"]\n  suspend: true\n"
    )
}

fn validate(text: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("many.yaml");
    std::fs::write(&file, text).unwrap();
    Command::new(env!("CARGO_BIN_EXE_kjob"))
        .args(["--state-dir"])
        .arg(dir.path().join("state"))
        .args(["validate", "--manifest"])
        .arg(&file)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn ten_thousand_documents_validate_in_one_command() {
    let text: String = (0..10_000)
        .map(|i| format!("---\n{}", document(i)))
        .collect();
    let out = validate(&text);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    let valid: Vec<&str> = all.lines().filter(|l| l.starts_with("valid: ")).collect();
    assert_eq!(valid.len(), 10_000, "one line per document");
    assert!(
        valid[9_999].contains("\"job-09999\"") && valid[9_999].contains("document 10000"),
        "{}",
        valid[9_999]
    );
}

#[test]
fn a_file_over_the_document_limit_is_refused_with_the_limit() {
    let text = "---\n".repeat(50_001);
    let out = validate(&text);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("more than 50000 YAML documents"), "{err}");
}
