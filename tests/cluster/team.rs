//! Team state on the `kubernetes://` backend: "machines" are separate HOMEs and state
//! directories ([`Bed`]s) sharing one backend namespace. Two runs at once (one waits or fails
//! naming the holder, no record lost); a run killed with SIGKILL whose Lease the next run takes
//! over; a reference from one machine to what another deployed; `state migrate` file ->
//! kubernetes -> file, byte for byte; 1,000 records read in a bounded number of API calls.
//! Each test deletes the namespaces it made.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common;
use common::cli::{Bed, Run, yaml_job, yaml_namespace};

use kjob::core::objects::ObjectKind;

/// `kjob ARGS... --backend kubernetes://NS` from `bed`'s HOME, with a short Lease.
fn team(bed: &Bed, backend: &str, args: &[&str]) -> Run {
    let started = Instant::now();
    let output = team_command(bed, backend, args)
        .output()
        .expect("kjob runs");
    Run::new(output, started.elapsed())
}

/// Starts `kjob up` on `bed` of a Job `name` in `namespace` whose pods hang (the test bed's
/// `kjob.test/hang` image), so the run holds the backend's Lease while it waits; returns the
/// manifest's path and the running process.
fn start_hanging_up(
    bed: &Bed,
    backend: &str,
    name: &str,
    namespace: &str,
    extra: &[&str],
) -> (String, std::process::Child) {
    let file = bed.file(
        &format!("{name}.yaml"),
        &yaml_job(name, &format!("  namespace: {{value: {namespace}}}\n"))
            .replace("{repo: busybox, tag: '1.36'}", "{repo: kjob.test/hang}"),
    );
    let mut args = vec!["up", "--manifest", file.as_str(), "--yes"];
    args.extend_from_slice(extra);
    let child = team_command(bed, backend, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kjob starts");
    (file, child)
}

fn team_command(bed: &Bed, backend: &str, args: &[&str]) -> std::process::Command {
    let mut command = bed.command(args);
    command
        .arg("--backend")
        .arg(backend)
        .env("HOME", bed.state().parent().expect("a parent"))
        .env("KJOB_LEASE_DURATION", "3")
        .env("KJOB_LOG", "kjob=info");
    command
}

async fn delete_namespace(name: &str) {
    let cluster = common::cluster();
    let _ = cluster
        .delete(&common::obj(ObjectKind::Namespace, None, name), None, None)
        .await;
}

/// The API request count a run logged (`KJOB_LOG=kjob=info`).
fn requests(run: &Run) -> u64 {
    run.stderr
        .lines()
        .find_map(|l| {
            let (_, tail) = l.split_once("kubernetes://")?;
            let (_, count) = tail.split_once(": ")?;
            count.strip_suffix(" API requests")?.trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("no request count in:\n{}", run.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn two_machines_share_state_references_and_the_lock() {
    let cluster = common::cluster();
    let backend_ns = common::namespace(&cluster, "kjob-team").await;
    let backend = format!("kubernetes://{backend_ns}");
    let (a, b) = (Bed::new(), Bed::new());
    let target_ns = common::unique("kjob-team-target");
    let ns_res = common::unique("teamns");
    // Machine A deploys a namespace.
    let ns_file = a.file("ns.yaml", &yaml_namespace(&ns_res, &target_ns));
    team(&a, &backend, &["up", "--manifest", &ns_file, "--yes"]).ok();
    // Machine B's Job references it (valueFrom), resolved through the team's store.
    let job = common::unique("teamjob");
    let job_file = b.file(
        "job.yaml",
        &yaml_job(
            &job,
            &format!("  namespace: {{valueFrom: {{name: {ns_res}}}}}\n"),
        ),
    );
    team(&b, &backend, &["up", "--manifest", &job_file, "--yes"]).ok();
    assert!(
        common::get(&cluster, ObjectKind::Job, Some(&target_ns), &job)
            .await
            .is_some()
    );
    // A holds the Lease with a Job that hangs; B is refused at once, naming the holder.
    let hang = common::unique("teamhang");
    let (hang_file, holder) =
        start_hanging_up(&a, &backend, &hang, &target_ns, &["--timeout", "5"]);
    let holder_pid = holder.id();
    common::eventually("A holds the Lease", Duration::from_secs(20), || async {
        let run = team(&b, &backend, &["state", "unlock"]);
        run.stdout.contains("is locked by").then_some(())
    })
    .await;
    let refused = team(&b, &backend, &["up", "--manifest", &job_file, "--yes"]);
    refused.exit(3).says(&format!(
        "locked by another kjob run: pid {holder_pid} on host "
    ));
    // With a timeout, B waits for A and then runs.
    let waited = team(
        &b,
        &backend,
        &[
            "up",
            "--manifest",
            &job_file,
            "--yes",
            "--lock-timeout",
            "30",
        ],
    );
    let first = holder.wait_with_output().expect("A ends");
    assert_eq!(first.status.code(), Some(1), "the hanging Job timed out");
    waited.ok();
    // No record lost: both machines see all three.
    let list = team(&a, &backend, &["list", "-o", "json"]);
    list.ok();
    for name in [&ns_res, &job, &hang] {
        assert!(
            list.stdout.contains(name.as_str()),
            "{name}: {}",
            list.stdout
        );
    }
    team(&b, &backend, &["down", "--manifest", &job_file, "--yes"]).ok();
    team(&a, &backend, &["down", "--manifest", &hang_file, "--yes"]).ok();
    team(&a, &backend, &["down", "--manifest", &ns_file, "--yes"]).ok();
    assert!(
        team(&b, &backend, &["state", "list"])
            .stdout
            .contains("holds no resources")
    );
    delete_namespace(&backend_ns).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_run_is_taken_over_after_its_lease_expires() {
    let cluster = common::cluster();
    let backend_ns = common::namespace(&cluster, "kjob-team").await;
    let backend = format!("kubernetes://{backend_ns}");
    let target_ns = common::namespace(&cluster, "kjob-team-target").await;
    let (a, b) = (Bed::new(), Bed::new());
    let job = common::unique("killed");
    let spec = format!("  namespace: {{value: {target_ns}}}\n");
    let (_, mut child) = start_hanging_up(&a, &backend, &job, &target_ns, &[]);
    common::eventually(
        "the hanging Job exists",
        Duration::from_secs(30),
        || async {
            common::get(&cluster, ObjectKind::Job, Some(&target_ns), &job)
                .await
                .map(|_| ())
        },
    )
    .await;
    // kill -9: no cleanup runs, the Lease stays held until it expires.
    let killed = std::process::Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let _ = child.wait();
    let started = Instant::now();
    let file = b.file("job.yaml", &yaml_job(&job, &spec));
    let next = team(
        &b,
        &backend,
        &["up", "--manifest", &file, "--yes", "--lock-timeout", "20"],
    );
    next.ok().says("taking over the expired lock");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    team(&b, &backend, &["down", "--manifest", &file, "--yes"]).ok();
    // Nothing orphaned: no object of the team's stack is left.
    assert!(common::labelled(&cluster, &target_ns).await.is_empty());
    delete_namespace(&target_ns).await;
    delete_namespace(&backend_ns).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_file_to_kubernetes_and_back_is_byte_identical() {
    let cluster = common::cluster();
    let backend_ns = common::namespace(&cluster, "kjob-team").await;
    let backend = format!("kubernetes://{backend_ns}");
    let bed = Bed::new();
    let ns_res = common::unique("migns");
    let target_ns = common::unique("kjob-mig-target");
    let file = bed.file("ns.yaml", &yaml_namespace(&ns_res, &target_ns));
    bed.run(&["up", "--manifest", &file, "--yes"]).ok();
    let records = || {
        let mut out = Vec::new();
        for r in bed.store().list().expect("readable") {
            out.push(std::fs::read(bed.store().record_path(&r.key())).expect("a record file"));
        }
        out
    };
    let before = records();
    assert_eq!(before.len(), 1);
    bed.run(&["state", "migrate", "--to", &backend]).ok();
    // Runs now use the cluster's store; the file store is kept.
    bed.run(&["list"]).ok().says(&ns_res).says("moved");
    bed.run(&[
        "state",
        "migrate",
        "--to",
        &format!("file://{}", bed.state().display()),
    ])
    .ok();
    assert_eq!(
        records(),
        before,
        "byte-identical after file -> kubernetes -> file"
    );
    bed.run(&["down", "--manifest", &file, "--yes"]).ok();
    delete_namespace(&backend_ns).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_records_are_read_in_a_few_calls() {
    const N: usize = 1000;
    let cluster = common::cluster();
    let backend_ns = common::namespace(&cluster, "kjob-team").await;
    let backend = format!("kubernetes://{backend_ns}");
    let bed = Bed::new();
    let mut text = String::new();
    for i in 0..N {
        text.push_str(&yaml_namespace(&format!("n{i}"), &format!("kjob-bulk-{i}")));
        text.push_str("---\n");
    }
    let manifest = bed.file("many.yaml", &text);
    // Records as `up` would leave them, written straight into a file store, then migrated.
    let files = bed.store();
    let docs = kjob::cli::plan::order(kjob::cli::plan::load(&manifest, &[]).unwrap()).unwrap();
    let stack = "kjob:bulk";
    let planned = kjob::cli::plan::check_all(docs, &files, stack).unwrap();
    for p in &planned {
        let mut record = kjob::state::Record::new(&p.key);
        record.status = kjob::state::Status::Applied;
        record.manifest = kjob::core::secrets::mark(&p.manifest);
        record.outputs = p.outputs.clone();
        for id in p.rendered.ids() {
            record.add_object(&id);
        }
        files.put(&record).unwrap();
        assert!(kjob::cli::plan::change(p, Some(record)).skip, "{}", p.key);
    }
    let moved = bed
        .command(&["state", "migrate", "--to", &backend])
        .output()
        .unwrap();
    Run::from(moved).ok();
    let list = team(&bed, &backend, &["list"]);
    list.ok();
    assert_eq!(list.stdout.lines().count(), N + 1);
    let preview = team(
        &bed,
        &backend,
        &["preview", "--manifest", &manifest, "--stack", stack],
    );
    preview.ok();
    let (l, p) = (requests(&list), requests(&preview));
    eprintln!("team-state: {N} records: list {l} API requests, no-change preview {p}");
    assert!(l <= 5 && p <= 6, "list {l}, preview {p}");
    delete_namespace(&backend_ns).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_whose_lease_is_taken_stops_writing() {
    let cluster = common::cluster();
    let backend_ns = common::namespace(&cluster, "kjob-team").await;
    let backend = format!("kubernetes://{backend_ns}");
    let target_ns = common::namespace(&cluster, "kjob-team-target").await;
    let (a, b) = (Bed::new(), Bed::new());
    let job = common::unique("lost");
    let (hang_file, child) = start_hanging_up(&a, &backend, &job, &target_ns, &["--timeout", "6"]);
    common::eventually(
        "the hanging Job exists",
        Duration::from_secs(30),
        || async {
            common::get(&cluster, ObjectKind::Job, Some(&target_ns), &job)
                .await
                .map(|_| ())
        },
    )
    .await;
    // Another machine forces the lock free: A's next renewal finds it lost.
    team(&b, &backend, &["state", "unlock", "--yes"])
        .ok()
        .says("Released the lock");
    let out = Run::from(child.wait_with_output().expect("A ends"));
    out.failed().says("lost its lock");
    team(&b, &backend, &["down", "--manifest", &hang_file, "--yes"]).ok();
    delete_namespace(&target_ns).await;
    delete_namespace(&backend_ns).await;
}
