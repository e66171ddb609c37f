//! `kjob wait` and `kjob logs` on a deployed Job, and their help texts.

use super::{Bed, common};
use std::process::Command;

#[tokio::test]
async fn wait_and_logs_on_a_deployed_job() {
    let bed = Bed::new("wait").await;
    let file = bed.manifest(
        "job.yaml",
        "busybox",
        "",
        "  env:\n    secrets:\n      TOKEN: {value: t0ps3cret-wait}\n",
    );
    common::pod_log(&bed.ns, &["starting", "token=t0ps3cret-wait"]);
    // Not deployed yet: exit 2.
    bed.run(&["wait", "--manifest", &file])
        .exit(2)
        .says("is not deployed");
    bed.run(&["logs", "--name", &bed.job])
        .exit(2)
        .says(&format!("no resource named \"{}\"", bed.job));

    let up = bed.run(&["up", "--manifest", &file, "--yes", "--no-wait"]);
    up.ok().never_says("waiting for Job");
    let wait = bed.run(&["wait", "--name", &bed.job, "--timeout", "60"]);
    wait.ok();
    assert!(
        wait.stdout.contains(&format!(
            "KubernetesJob \"{}\": Job {}/{} Complete after ",
            bed.job, bed.ns, bed.job
        )),
        "{}",
        wait.stdout
    );
    // The pod's real log, each line prefixed by the pod's name, the secret it printed redacted
    // (read with --name alone, so only the live Secret and the stored hashes know the value).
    let logs = bed.run(&["logs", "--name", &bed.job, "--tail", "5"]);
    logs.ok().never_says("t0ps3cret-wait");
    let lines: Vec<&str> = logs
        .stdout
        .lines()
        .filter(|l| l.contains("token="))
        .collect();
    assert_eq!(lines.len(), 1, "{}\n{}", logs.stdout, logs.stderr);
    assert!(
        lines[0].starts_with(&format!("{}-", bed.job)) && lines[0].ends_with("token=[redacted]"),
        "prefixed with the pod's name, redacted: {}",
        lines[0]
    );
    // The next up records nothing new: the Job was Complete (refreshed from Running).
    bed.run(&["up", "--manifest", &file, "--yes"])
        .ok()
        .says("is Complete (recorded: Running)")
        .says("unchanged");
    assert_eq!(
        bed.record()
            .job_status
            .map(kjob::core::outcome::JobStatus::word),
        Some("Complete")
    );
    bed.clean_up(&file).await;
}

#[test]
fn wait_and_logs_document_their_examples_and_exit_codes() {
    for (command, texts) in [
        (
            "wait",
            [
                "kjob wait --manifest job.yaml",
                "0  every Job is Complete",
                "1  a Job failed",
                "--timeout <SECONDS>",
            ],
        ),
        (
            "logs",
            [
                "kjob logs --name migrate --tail 20",
                "0  the Job's pods were found",
                "1  the Job has no pods",
                "--tail <LINES>",
            ],
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_kjob"))
            .args([command, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&output.stdout);
        for text in texts {
            assert!(
                help.contains(text),
                "{text:?} missing from kjob {command} --help:\n{help}"
            );
        }
    }
}
