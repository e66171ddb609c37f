//! Whole runs of the built `kjob` binary: one that crashes mid-`up` and is re-run (and one that
//! crashes and is torn down), two runs at once, timeouts of u64::MAX seconds, an unreachable
//! cluster, a refused confirmation, the examples, a failing Job, and the provider resolving
//! references from the CLI's state store.

use super::*;

fn crash_manifest(bed: &Bed, job: &str, ns: &str) -> String {
    bed.file(
        "crash.yaml",
        &yaml_job(job, &format!("  namespace: {{value: {ns}}}\n  createNamespace: true\n  configMaps: {{settings: 'a=1'}}\n  env:\n    secrets:\n      TOKEN: {{value: t0ps3cret}}\n")),
    )
}

/// Runs `kjob up` with the crash hook and checks it died after `objects` objects, recorded.
fn crash(bed: &Bed, file: &str, job: &str, objects: usize) {
    let output = bed
        .command(&["up", "--manifest", file, "--yes"])
        .env(kjob::cli::run::CRASH_AFTER_OBJECTS, objects.to_string())
        .output()
        .unwrap();
    let run = Run::from(output);
    assert_eq!(run.code, None, "the run was killed by a signal: {run:?}");
    assert!(run.stderr.contains("aborting after"), "{}", run.stderr);
    let stored = record(bed, "KubernetesJob", job).expect("the crashed run left a record");
    assert_eq!(stored.status, Status::Applying);
    assert_eq!(
        stored.objects.len(),
        objects,
        "every applied object was recorded: {:?}",
        stored.objects
    );
    assert_eq!(
        stored.pending.len(),
        5 - objects,
        "the rest are pending: {:?}",
        stored.pending
    );
    assert_eq!(stored.all_objects().len(), 5);
    let raw = std::fs::read_to_string(bed.store().record_path(&stored.key())).unwrap();
    assert!(!raw.contains("t0ps3cret"), "no secret value in state");
}

#[tokio::test]
async fn a_run_killed_mid_up_converges_when_run_again() {
    let cluster = common::cluster();
    let bed = Bed::new();
    let job = common::unique("crash");
    let ns = common::unique("kjob-crash");
    let file = crash_manifest(&bed, &job, &ns);
    crash(&bed, &file, &job, 2);
    assert_eq!(
        owned(&cluster, &job).await,
        [
            (ObjectKind::Namespace, 1),
            (ObjectKind::ConfigMap, 1),
            (ObjectKind::Secret, 0),
            (ObjectKind::ServiceAccount, 0),
            (ObjectKind::Job, 0)
        ]
    );

    // The lock died with the process; the re-run adopts what exists and finishes.
    bed.run(&["up", "--manifest", &file, "--yes"]).ok();
    let stored = record(&bed, "KubernetesJob", &job).unwrap();
    assert_eq!(stored.status, Status::Applied);
    assert_eq!(stored.objects.len(), 5, "{:?}", stored.objects);
    assert_eq!(
        stored.job_status.map(kjob::core::outcome::JobStatus::word),
        Some("Complete")
    );
    assert_eq!(
        owned(&cluster, &job).await,
        ALL_KINDS.map(|k| (k, 1)),
        "every object exists once"
    );

    bed.run(&["down", "--manifest", &file, "--yes"]).ok();
    nothing_owned(&cluster, &job).await;
    assert!(record(&bed, "KubernetesJob", &job).is_none());
}

#[tokio::test]
async fn a_run_killed_mid_up_is_torn_down_by_down() {
    let cluster = common::cluster();
    let bed = Bed::new();
    let job = common::unique("crashdown");
    let ns = common::unique("kjob-crashdown");
    let file = crash_manifest(&bed, &job, &ns);
    crash(&bed, &file, &job, 3);
    bed.run(&["down", "--manifest", &file, "--yes"]).ok();
    nothing_owned(&cluster, &job).await;
    assert!(bed.store().list().unwrap().is_empty());
}

#[tokio::test]
async fn a_second_run_is_refused_while_the_state_is_locked_or_waits_for_it() {
    let cluster = common::cluster();
    let bed = Bed::new();
    let job = common::unique("locked");
    let ns = common::unique("kjob-locked");
    let file = bed.file(
        "job.yaml",
        &yaml_job(
            &job,
            &format!("  namespace: {{value: {ns}}}\n  createNamespace: true\n"),
        ),
    );

    let held = bed.store().lock("up", Duration::ZERO).unwrap();
    let started = std::time::Instant::now();
    let refused = bed.run(&["up", "--manifest", &file, "--yes"]);
    refused.exit(3);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refused at once"
    );
    assert!(
        refused.stderr.contains(&format!(
            "is locked by another kjob run: pid {} on host ",
            std::process::id()
        )) && refused.stderr.contains("running `kjob up` since "),
        "{}",
        refused.stderr
    );
    bed.run(&["down", "--manifest", &file, "--yes"]).exit(3);
    nothing_owned(&cluster, &job).await;

    // With --lock-timeout the run waits for the holder to finish.
    let child = bed
        .command(&["up", "--manifest", &file, "--yes", "--lock-timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    drop(held);
    Run::from(child.wait_with_output().unwrap()).ok();
    assert!(
        common::get(&cluster, ObjectKind::Job, Some(&ns), &job)
            .await
            .is_some()
    );

    bed.run(&["down", "--name", &job, "--yes"]).ok();
    nothing_owned(&cluster, &job).await;
}

/// `--timeout` and `--lock-timeout` of 18446744073709551615 seconds (u64::MAX) panicked on
/// `Instant + Duration` overflow; they saturate now: `up` waits for a held lock and then for
/// its Job like with any other timeout, and `wait` and `down` take them too.
#[tokio::test]
async fn huge_timeouts_wait_normally_without_a_panic() {
    let cluster = common::cluster();
    let bed = Bed::new();
    let job = common::unique("huge-timeout");
    let ns = common::unique("kjob-huge");
    let file = bed.file(
        "job.yaml",
        &yaml_job(
            &job,
            &format!("  namespace: {{value: {ns}}}\n  createNamespace: true\n"),
        ),
    );
    let max = u64::MAX.to_string();

    let held = bed.store().lock("up", Duration::ZERO).unwrap();
    let child = bed
        .command(&[
            "up",
            "--manifest",
            &file,
            "--yes",
            "--timeout",
            &max,
            "--lock-timeout",
            &max,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    drop(held);
    let up = Run::from(child.wait_with_output().unwrap());
    up.ok();
    assert!(!up.stderr.contains("panicked"), "{}", up.stderr);
    assert_eq!(
        record(&bed, "KubernetesJob", &job)
            .unwrap()
            .job_status
            .map(kjob::core::outcome::JobStatus::word),
        Some("Complete"),
        "up waited for the Job"
    );

    let wait = bed.run(&[
        "wait",
        "--name",
        &job,
        "--timeout",
        &max,
        "--lock-timeout",
        &max,
    ]);
    wait.ok();
    assert!(!wait.stderr.contains("panicked"), "{}", wait.stderr);
    bed.run(&["down", "--name", &job, "--yes", "--lock-timeout", &max])
        .ok();
    nothing_owned(&cluster, &job).await;
}

#[test]
fn an_unreachable_cluster_exits_4() {
    let bed = Bed::new();
    let kubeconfig = bed.file(
        "kubeconfig",
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    );
    let file = bed.file(
        "job.yaml",
        &yaml_job(
            &common::unique("unreach"),
            "  namespace: {value: default}\n",
        ),
    );
    let run = Run::from(
        Command::new(env!("CARGO_BIN_EXE_kjob"))
            .args([
                "up",
                "--manifest",
                &file,
                "--yes",
                "--kubeconfig",
                &kubeconfig,
                "--state-dir",
            ])
            .arg(bed.state())
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    );
    run.exit(4);
}

#[test]
fn up_without_yes_and_without_a_terminal_is_refused() {
    let bed = Bed::new();
    let file = bed.file(
        "job.yaml",
        &yaml_job(
            &common::unique("confirm"),
            "  namespace: {value: default}\n",
        ),
    );
    let run = bed.run(&["up", "--manifest", &file]);
    run.exit(2);
    assert!(run.stderr.contains("pass --yes"), "{}", run.stderr);
    assert!(bed.store().list().unwrap().is_empty());
}

#[tokio::test]
async fn the_examples_validate_and_deploy() {
    let cluster = common::cluster();
    let bed = Bed::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for name in ["job.yaml", "namespace-and-job.yaml"] {
        let path = examples.join(name);
        bed.run(&["validate", "--manifest", path.to_str().unwrap()])
            .ok();
    }
    // The main example, under names of its own, read from standard input.
    let job = common::unique("example");
    let ns = common::unique("kjob-example");
    let text = std::fs::read_to_string(examples.join("job.yaml")).unwrap();
    let mut child = bed
        .command(&[
            "up",
            "--manifest",
            "-",
            "--yes",
            "--set",
            &format!("metadata.name={job}"),
            "--set",
            &format!("spec.namespace={ns}"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    Run::from(child.wait_with_output().unwrap()).ok();
    let live = common::get(&cluster, ObjectKind::Job, Some(&ns), &job)
        .await
        .expect("the example's Job");
    assert!(live.to_string().contains("secretKeyRef"));
    assert!(!live.to_string().contains("example-only-password"));
    assert_eq!(
        record(&bed, "KubernetesJob", &job)
            .unwrap()
            .job_status
            .map(kjob::core::outcome::JobStatus::word),
        Some("Complete")
    );
    bed.run(&["down", "--name", &job, "--yes"]).ok();
    nothing_owned(&cluster, &job).await;
}

#[tokio::test]
async fn a_failing_job_exits_1_and_runs_again_once_fixed() {
    let cluster = common::cluster();
    let bed = Bed::new();
    let job = common::unique("failing");
    let ns = common::unique("kjob-failing");
    // The test bed fails the pods of the image kjob.test/fail.
    let spec =
        format!("  namespace: {{value: {ns}}}\n  createNamespace: true\n  backoffLimit: 0\n");
    let file = bed.file(
        "job.yaml",
        &yaml_job(&job, &spec).replace("{repo: busybox, tag: '1.36'}", "{repo: kjob.test/fail}"),
    );
    let failed = bed.run(&["up", "--manifest", &file, "--yes"]);
    failed.exit(1);
    assert!(
        failed.stderr.contains(&format!("Job {ns}/{job} failed")),
        "{}",
        failed.stderr
    );
    let stored = record(&bed, "KubernetesJob", &job).unwrap();
    assert_eq!(
        (
            stored.status,
            stored.job_status.map(kjob::core::outcome::JobStatus::word)
        ),
        (Status::Failed, Some("Failed"))
    );
    assert_eq!(stored.objects.len(), 3, "{:?}", stored.objects);

    // Nothing changed, but a failed Job is replaced and runs again: still failing.
    let preview = bed.run(&["preview", "--manifest", &file]);
    assert!(
        preview
            .stdout
            .contains("the Job is deleted, then created again: the Job failed last time"),
        "{}",
        preview.stdout
    );

    // A fixed image replaces the Job, which completes.
    let fixed = bed.file("fixed.yaml", &yaml_job(&job, &spec));
    let up = bed.run(&["up", "--manifest", &fixed, "--yes"]);
    up.ok();
    assert!(
        up.stderr.contains("deleting the old Job first"),
        "{}",
        up.stderr
    );
    let stored = record(&bed, "KubernetesJob", &job).unwrap();
    assert_eq!(
        (
            stored.status,
            stored.job_status.map(kjob::core::outcome::JobStatus::word)
        ),
        (Status::Applied, Some("Complete"))
    );

    // A Job that does not finish in time is a failure that leaves it running.
    let hanging = bed.file(
        "hang.yaml",
        &yaml_job(&job, &spec).replace("{repo: busybox, tag: '1.36'}", "{repo: kjob.test/hang}"),
    );
    let timeout = bed.run(&["up", "--manifest", &hanging, "--yes", "--timeout", "3"]);
    timeout.exit(1);
    assert!(
        timeout.stderr.contains("did not finish within 3s"),
        "{}",
        timeout.stderr
    );
    assert_eq!(
        record(&bed, "KubernetesJob", &job)
            .unwrap()
            .job_status
            .map(kjob::core::outcome::JobStatus::word),
        Some("Running")
    );

    bed.run(&["down", "--manifest", &hanging, "--yes"]).ok();
    nothing_owned(&cluster, &job).await;
}

#[tokio::test]
async fn the_provider_resolves_references_from_the_cli_state_store() {
    use kjob::api::pulumirpc::resource_provider_server::ResourceProvider;
    use kjob::api::pulumirpc::{CheckRequest, ConfigureRequest};
    use kjob::provider::values::{from_struct, to_struct};

    let bed = Bed::new();
    // What `kjob up` records for a KubernetesNamespace (no cluster needed to check).
    let key = kjob::core::refs::ResourceKey {
        kind: "KubernetesNamespace".into(),
        env: "dev".into(),
        name: "team".into(),
    };
    let mut record = Record::new(&key);
    record.manifest = json!({"apiVersion": API, "kind": "KubernetesNamespace", "metadata": {"name": "team", "env": "dev"}, "spec": {"name": "team-ns"}});
    record.outputs = json!({"namespace": "team-ns"});
    record.status = Status::Applied;
    bed.store().save(&mut record).unwrap();

    let provider =
        kjob::provider::service::KjobProvider::new(Default::default(), Default::default());
    let args = json!({"stateDir": bed.state().to_string_lossy()});
    provider
        .configure(tonic::Request::new(ConfigureRequest {
            args: Some(to_struct(&args)),
            ..Default::default()
        }))
        .await
        .unwrap();
    let check = |name: &str| {
        let news = json!({
            "metadata": {"name": "j", "env": "dev"},
            "spec": {"namespace": {"valueFrom": {"name": name}}, "image": {"repo": "busybox"},
                     "env": {"variables": {"NS": {"valueFrom": {"kind": "KubernetesNamespace", "name": name, "fieldPath": "status.outputs.namespace"}}}}}
        });
        CheckRequest {
            urn: "urn:pulumi:s::p::kjob:index:KubernetesJob::j".into(),
            name: "j".into(),
            r#type: "kjob:index:KubernetesJob".into(),
            news: Some(to_struct(&news)),
            ..Default::default()
        }
    };
    let resolved = provider
        .check(tonic::Request::new(check("team")))
        .await
        .unwrap()
        .into_inner();
    assert!(resolved.failures.is_empty(), "{:?}", resolved.failures);
    let inputs = from_struct(&resolved.inputs.unwrap());
    assert_eq!(inputs["spec"]["namespace"], json!({"value": "team-ns"}));
    assert_eq!(
        inputs["spec"]["env"]["variables"]["NS"],
        json!({"value": "team-ns"})
    );

    let unresolved = provider
        .check(tonic::Request::new(check("other")))
        .await
        .unwrap()
        .into_inner();
    let failures: Vec<(String, String)> = unresolved
        .failures
        .into_iter()
        .map(|f| (f.property, f.reason))
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert_eq!(failures[0].0, "spec.env.variables.NS");
    assert_eq!(failures[1].0, "spec.namespace");
    assert!(
        failures[1].1.contains(&format!(
            "no KubernetesNamespace \"other\" in env \"dev\" in the state store at {}",
            bed.state().display()
        )),
        "{failures:?}"
    );
}
