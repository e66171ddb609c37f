//! Pod logs on the test bed's real log text (kwok's ClusterLogs, `scripts/testbed pod-log`):
//! `kjob logs` chooses pods (`--pod`, `--index`), filters by time (`--since`) and follows
//! (`--follow`) until the Job finishes, even though kwok never ends a followed log; `kjob up
//! --logs` streams while it waits; the provider shows each pod's latest line as its status.
//! Secret values are redacted everywhere.

use std::time::{Duration, Instant};

use super::*;

#[test]
fn logs_choose_pods_and_follow_until_the_job_finishes() {
    let bed = Bed::new();
    let secret = "fl0w-s3cret";
    let (job, ns, file) = secret_job(
        &bed,
        "flw",
        secret,
        "  completionMode: Indexed\n  completions: 2\n  parallelism: 2\n",
    );
    bed.run(&["up", "--manifest", &file, "--yes", "--no-wait"])
        .ok();
    common::pod_log(&ns, &["starting", &format!("token={secret}")]);

    // Followed: the lines of both pods, redacted, and the command ends by itself once the
    // Job is Complete (kwok keeps the stream open).
    let started = Instant::now();
    let follow = bed.run(&["logs", "--manifest", &file, "--follow"]);
    follow.ok().never_says(secret);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "follow ended with the Job: {:?}",
        started.elapsed()
    );
    let tokens: Vec<&str> = follow
        .stdout
        .lines()
        .filter(|l| l.ends_with("token=[redacted]"))
        .collect();
    assert_eq!(tokens.len(), 2, "one line per pod:\n{}", follow.stdout);
    assert!(
        tokens.iter().all(|l| l.starts_with(&format!("{job}-"))),
        "prefixed: {tokens:?}"
    );

    // One completion index: one pod, and into a pipe no prefix.
    let index = bed.run(&["logs", "--name", &job, "--index", "1"]);
    index.ok().never_says(secret);
    assert_eq!(
        index.stdout.lines().collect::<Vec<_>>(),
        ["starting", "token=[redacted]"],
        "{}",
        index.stderr
    );
    let pod = follow
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_once(": ")
        .unwrap()
        .0
        .to_owned();
    let one = bed.run(&["logs", "--name", &job, "--pod", &pod, "--tail", "1"]);
    one.ok();
    assert_eq!(one.stdout.trim(), "token=[redacted]");
    bed.run(&["logs", "--name", &job, "--pod", "no-such-pod"])
        .exit(1)
        .says("none is the one chosen");

    // --since: only what was written lately.
    std::thread::sleep(Duration::from_secs(3));
    common::pod_log(&ns, &["late line"]);
    let since = bed.run(&["logs", "--name", &job, "--index", "0", "--since", "2s"]);
    since.ok();
    assert_eq!(since.stdout.trim(), "late line", "{}", since.stderr);
    bed.run(&["logs", "--name", &job, "--since", "5x"])
        .exit(2)
        .says("--since");
    bed.run(&["down", "--manifest", &file, "--yes"]).ok();
}

#[test]
fn up_streams_the_pods_logs_while_it_waits() {
    let bed = Bed::new();
    let secret = "upl0g-s3cret";
    let (job, ns, file) = secret_job(&bed, "uplog", secret, "");
    // The log is served for the namespace's pods before the namespace exists.
    common::pod_log(&ns, &["loading batch 1", &format!("password {secret}")]);
    let up = bed.run(&["up", "--manifest", &file, "--yes", "--logs"]);
    up.ok().never_says(secret);
    assert!(
        up.stderr.contains(&format!("  {job}-"))
            && up.stderr.contains(": loading batch 1")
            && up.stderr.contains(": password [redacted]"),
        "{}",
        up.stderr
    );
    bed.run(&["down", "--manifest", &file, "--yes"]).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_provider_shows_each_pods_latest_log_line_as_its_status() {
    let (engine, address) = crate::launch::FakeEngine::start().await;
    let mut process = crate::launch::Provider::launch(&address, &[]);
    let p = common::provider::Provider::configure(
        process.client().await,
        &common::kubeconfig(),
        serde_json::json!({}),
    )
    .await;
    let (name, ns) = (common::unique("plog"), common::unique("kjob-plog"));
    let secret = "pl0g-s3cret";
    common::pod_log(&ns, &["step one", &format!("secret {secret}")]);
    // A pod that runs until the Job's deadline (3 s) fails it: time enough to show its lines.
    let inputs = common::inputs(
        &name,
        &ns,
        serde_json::json!({"createNamespace": true, "image": {"repo": "kjob.test/hang"},
            "activeDeadlineSeconds": 3, "backoffLimit": 0,
            "env": {"secrets": {"PW": {"value": secret}}}}),
    );
    let checked = p.check_ok(&name, &inputs).await;
    let failure = p
        .create(&name, &checked, 60.0)
        .await
        .expect_err("the deadline fails the Job")
        .partial();
    let messages = engine.messages();
    assert!(
        messages.iter().all(|m| !m.message.contains(secret)),
        "no secret in any message"
    );
    let statuses: Vec<&str> = messages
        .iter()
        .filter(|m| m.ephemeral)
        .map(|m| m.message.as_str())
        .collect();
    assert!(
        statuses
            .iter()
            .any(|s| s.starts_with("Waiting for the Job to finish")
                && s.contains(&format!(" | {name}-"))
                && s.ends_with(": secret [redacted]")),
        "the status shows the pod's latest line, redacted: {statuses:#?}"
    );
    p.delete(&name, &failure.id, &failure.outputs)
        .await
        .expect("Delete");
    process.stop();
}
