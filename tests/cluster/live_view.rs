//! What `up` and `down` show: the live view on a terminal (through a pseudo-terminal made by
//! `script`), plain lines otherwise; secret values in neither.

use std::process::Command;

use crate::common;
use common::cli::{Bed, yaml_job};

/// A failing Job whose command prints a secret, and a succeeding one, in namespace `ns`.
fn manifest(bed: &Bed, ns: &str, secret: &str) -> (String, [String; 2]) {
    let ok = common::unique("lok");
    let bad = common::unique("lbad");
    let docs = [
        yaml_job(
            &ok,
            &format!("  namespace: {{value: {ns}}}\n  env:\n    secrets:\n      TOKEN: {{value: {secret}}}\n"),
        ),
        yaml_job(
            &bad,
            &format!("  namespace: {{value: {ns}}}\n  backoffLimit: 0\n  env:\n    secrets:\n      PASSWORD: {{value: {secret}}}\n")
        )
        .replace("{repo: busybox, tag: '1.36'}", "{repo: kjob.test/fail}")
        .replace("'echo ok'", "'echo $PASSWORD'"),
    ];
    (bed.file("live.yaml", &docs.join("---\n")), [ok, bad])
}

fn quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// `kjob ARGS` on a pseudo-terminal (standard input, output and error); what the terminal got.
fn on_terminal(bed: &Bed, args: &[&str]) -> (Option<i32>, String) {
    let mut line: Vec<String> = vec![quote(env!("CARGO_BIN_EXE_kjob"))];
    line.extend(args.iter().map(|a| quote(a)));
    for extra in ["--kubeconfig", &common::kubeconfig(), "--state-dir"] {
        line.push(quote(extra));
    }
    line.push(quote(&bed.state().to_string_lossy()));
    let out = Command::new("script")
        .args(["-qefc", &line.join(" "), "/dev/null"])
        .env_remove("CI")
        .env_remove("KJOB_STATE_DIR")
        .env_remove("KJOB_BACKEND")
        .env_remove("KJOB_STACK")
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .output()
        .expect("script (util-linux) runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn a_terminal_shows_every_document_live_and_no_secret() {
    let bed = Bed::new();
    let ns = common::namespace(&common::cluster(), "kjob-live").await;
    let secret = common::unique("s3cret-live");
    let (file, [ok, bad]) = manifest(&bed, &ns, &secret);
    let (code, screen) = on_terminal(
        &bed,
        &[
            "up",
            "--manifest",
            &file,
            "--yes",
            "--wait",
            "--timeout",
            "60",
        ],
    );
    assert_eq!(code, Some(1), "the failing Job fails the run:\n{screen}");
    assert!(
        !screen.contains(&secret),
        "a secret reached the terminal:\n{screen}"
    );
    // Drawn and redrawn in place: the cursor moves up and lines are cleared.
    assert!(
        screen.contains("\x1b[2K"),
        "no line was redrawn:\n{screen:?}"
    );
    for text in [
        format!("KubernetesJob \"{ok}\": ✓ applied (Job Complete)"),
        format!("KubernetesJob \"{bad}\": ✗ failed"),
        "up: 1 applied, 1 failed in ".to_owned(),
        format!("KubernetesJob \"{ok}\": applied"),
        format!("KubernetesJob \"{bad}\": failed"),
    ] {
        assert!(screen.contains(&text), "{text:?} not shown:\n{screen}");
    }
    let (code, screen) = on_terminal(&bed, &["down", "--manifest", &file, "--yes"]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("✓ deleted"), "{screen}");
}

#[tokio::test]
async fn without_a_terminal_plain_lines_and_no_secret() {
    let bed = Bed::new();
    let ns = common::namespace(&common::cluster(), "kjob-plain").await;
    let secret = common::unique("s3cret-plain");
    let (file, [ok, bad]) = manifest(&bed, &ns, &secret);
    let up = bed.run(&[
        "up",
        "--manifest",
        &file,
        "--yes",
        "--wait",
        "--timeout",
        "60",
    ]);
    up.failed()
        .never_says(&secret)
        .never_says("\x1b[")
        .says_all(&[
            &format!("KubernetesJob \"{ok}\":\n"),
            &format!("  applied Job {ns}/{ok}\n"),
            &format!("KubernetesJob \"{bad}\":\n"),
            "  Job: Complete after ",
            &format!("KubernetesJob \"{bad}\": failed: "),
            "up: 1 applied, 1 failed in ",
        ]);
    // With a terminal but -o json (or --color never): plain lines on standard error too.
    let (_, screen) = on_terminal(
        &bed,
        &["down", "--manifest", &file, "--yes", "--color", "never"],
    );
    assert!(!screen.contains("\x1b[2K"), "{screen:?}");
    assert!(
        screen.contains(&format!("  deleted Job {ns}/{ok}")),
        "{screen}"
    );
    assert!(!screen.contains(&secret));
}
