//! Job outcomes through the built `kjob` binary, on the test bed: a Job that succeeds (with its
//! progress lines, and the spinner on a terminal), one that fails by backoff (failure report,
//! re-run by the next up), one that hits its deadline, one that `up` stops waiting for, one that
//! Kubernetes collects after `ttlSecondsAfterFinished` (not re-run), the run-once / every-up
//! choice, and the `wait` and `logs` commands.
//!
//! The test bed's fake kubelet decides a pod's fate by image: `kjob.test/fail` exits 1,
//! `kjob.test/hang` runs forever, anything else succeeds in about a second. It serves no pod
//! logs. Every test uses its own names, namespace and state directory, and cleans up.

use crate::common;
use common::cli::Run;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use kjob::cluster::Cluster;
use kjob::core::objects::ObjectKind;
use kjob::state::{FileStore as Store, Record, Status};
use serde_json::Value;

const API: &str = "kubernetes.project-planton.org/v1";

/// One test's state directory, manifests, namespace and KubernetesJob name.
struct Bed {
    dir: tempfile::TempDir,
    cluster: Cluster,
    ns: String,
    job: String,
}

impl Bed {
    /// A bed with a namespace created directly (so that `down` need not wait for a namespace
    /// to terminate).
    async fn new(prefix: &str) -> Self {
        let cluster = common::cluster();
        let ns = common::namespace(&cluster, &format!("kjob-{prefix}")).await;
        Self {
            dir: tempfile::tempdir().expect("a temp dir"),
            cluster,
            ns,
            job: common::unique(prefix),
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn record(&self) -> Record {
        Store::new(self.state())
            .get(&kjob::core::refs::ResourceKey {
                kind: "KubernetesJob".into(),
                env: String::new(),
                name: self.job.clone(),
            })
            .unwrap()
            .expect("the resource is recorded")
    }

    /// Writes a manifest for this bed's Job: `image`, extra `metadata` lines, extra `spec` lines.
    fn manifest(&self, file: &str, image: &str, metadata: &str, spec: &str) -> String {
        let text = format!(
            "apiVersion: {API}\nkind: KubernetesJob\nmetadata:\n  name: {}\n{metadata}spec:\n  namespace: {{value: {}}}\n  image: {{repo: {image}}}\n  command: [sh, -c, 'echo ok']\n{spec}",
            self.job, self.ns
        );
        let path = self.dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }

    fn args(&self, args: &[&str]) -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(ToString::to_string).collect();
        all.extend([
            "--kubeconfig".into(),
            common::kubeconfig(),
            "--state-dir".into(),
            self.state().to_string_lossy().into_owned(),
        ]);
        all
    }

    fn run(&self, args: &[&str]) -> Run {
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_kjob"))
            .args(self.args(args))
            .env("NO_COLOR", "1")
            .env_remove("KJOB_STATE_DIR")
            .env_remove(kjob::cli::run::CRASH_AFTER_OBJECTS)
            .stdin(Stdio::null())
            .output()
            .expect("kjob runs");
        Run::new(output, started.elapsed())
    }

    /// Runs kjob with a terminal for standard input, output and error (`script` from
    /// util-linux allocates one); everything it printed comes back as stdout.
    fn run_on_terminal(&self, args: &[&str]) -> Run {
        let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_kjob").to_owned())
            .chain(self.args(args))
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect();
        let started = Instant::now();
        let output = Command::new("script")
            .args([
                "-q",
                "-e",
                "-c",
                &format!("stty cols 200 rows 50; {}", quoted.join(" ")),
                "/dev/null",
            ])
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            // CI runners set CI, which asks for plain lines; this test is about the terminal.
            .env_remove("CI")
            .env_remove("KJOB_STATE_DIR")
            .stdin(Stdio::null())
            .output()
            .expect("script (util-linux) runs");
        Run::new(output, started.elapsed())
    }

    async fn live_job(&self) -> Option<Value> {
        common::get(&self.cluster, ObjectKind::Job, Some(&self.ns), &self.job).await
    }

    async fn job_uid(&self) -> String {
        let job = self.live_job().await.expect("the Job exists");
        job["metadata"]["uid"].as_str().unwrap().to_owned()
    }

    /// `kjob down`, then nothing of ours is left, pods included; the namespace is deleted
    /// without waiting.
    async fn clean_up(&self, file: &str) {
        self.run(&["down", "--manifest", file, "--yes"]).ok();
        for kind in [
            ObjectKind::ConfigMap,
            ObjectKind::Secret,
            ObjectKind::ServiceAccount,
            ObjectKind::Job,
        ] {
            let left = self
                .cluster
                .list_labelled(kind, Some(&self.ns), &common::named(&self.job))
                .await
                .unwrap();
            assert!(left.is_empty(), "{kind:?} of {} left: {left:?}", self.job);
        }
        // The Job is deleted in the background; down returns only once its pods are gone too.
        let pods = self.cluster.job_pods(&self.ns, &self.job).await.unwrap();
        let names: Vec<_> = pods
            .iter()
            .filter_map(|p| p.metadata.name.as_ref())
            .collect();
        assert!(
            names.is_empty(),
            "pods of {} left after down: {names:?}",
            self.job
        );
        self.cluster
            .delete(
                &common::obj(ObjectKind::Namespace, None, &self.ns),
                None,
                None,
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_job_that_succeeds_shows_progress_and_is_recorded_complete() {
    let bed = Bed::new("ok").await;
    let file = bed.manifest("job.yaml", "busybox", "", "");
    let up = bed.run(&["up", "--manifest", &file, "--yes"]);
    up.ok();
    // Plain lines (standard error is not a terminal), one per change of the counts.
    let label = format!("{}/{}", bed.ns, bed.job);
    up.says(&format!(
        "  waiting for Job {label}: active 1, succeeded 0, failed 0 ("
    ));
    up.says("  Job: Complete after ");
    assert!(
        up.stdout.contains(&format!(
            "KubernetesJob \"{}\": namespace={} jobName={} job=Complete",
            bed.job, bed.ns, bed.job
        )),
        "{}",
        up.stdout
    );
    let progress: Vec<&str> = up
        .stderr
        .lines()
        .filter(|l| l.contains("waiting for Job"))
        .collect();
    let mut unique = progress
        .iter()
        .map(|l| l.split(" (").next().unwrap())
        .collect::<Vec<_>>();
    unique.dedup();
    assert_eq!(
        unique.len(),
        progress.len(),
        "a line only when the counts change: {progress:?}"
    );
    let record = bed.record();
    assert_eq!(
        (
            record.status,
            record.job_status.map(kjob::core::outcome::JobStatus::word)
        ),
        (Status::Applied, Some("Complete"))
    );
    let list = bed.run(&["list", "-o", "json"]);
    let listed: Value = serde_json::from_str(&list.ok().stdout).unwrap();
    assert_eq!(listed[0]["jobStatus"], "Complete");
    let job = bed.live_job().await.unwrap();
    assert_eq!(
        kjob::core::outcome::job_state(&job),
        kjob::core::outcome::JobState::Complete
    );
    bed.clean_up(&file).await;
}

#[tokio::test]
async fn on_a_terminal_a_spinner_shows_counts_and_elapsed_time_with_warnings_above_it() {
    let bed = Bed::new("tty").await;
    let file = bed.manifest("job.yaml", "busybox", "", "");
    let up = bed.run_on_terminal(&["up", "--manifest", &file, "--yes"]);
    up.ok();
    let label = format!("{}/{}", bed.ns, bed.job);
    let all = &up.stdout;
    // The document's line of the live view: its time, then the Job's counts.
    assert!(
        all.contains(&format!("KubernetesJob \"{}\" [0s]: ", bed.job))
            && all.contains(&format!(
                "waiting for Job {label}: active 1, succeeded 0, failed 0"
            )),
        "{all}"
    );
    assert!(
        all.contains("\x1b[2K"),
        "the spinner line is redrawn in place: {all:?}"
    );
    assert!(
        ['⠋', '⠙', '⠹', '⠸'].iter().any(|c| all.contains(*c)),
        "a spinner frame: {all}"
    );
    assert!(all.contains(": Job: Complete after "), "{all}");
    bed.clean_up(&file).await;

    // A pod that cannot be scheduled: its warning events are printed above the spinner while
    // up waits.
    let bed = Bed::new("tty-warn").await;
    let file = bed.manifest(
        "job.yaml",
        "busybox",
        "",
        "  resources:\n    requests: {cpu: '500'}\n    limits: {cpu: '500'}\n",
    );
    let up = bed.run_on_terminal(&["up", "--manifest", &file, "--yes", "--timeout", "4"]);
    up.exit(1);
    let all = &up.stdout;
    let warning = all
        .find("  warning: ")
        .unwrap_or_else(|| panic!("a warning line: {all}"));
    assert!(all[warning..].contains("FailedScheduling"), "{all}");
    assert!(
        all[..warning].contains("waiting for Job"),
        "the spinner was showing before the warning: {all}"
    );
    assert!(all.contains("did not finish within 4s"), "{all}");
    bed.clean_up(&file).await;
}

#[tokio::test]
async fn a_job_that_fails_by_backoff_exits_1_with_a_failure_report_and_runs_again_next_up() {
    let bed = Bed::new("backoff").await;
    let secret = "hunter2-cli-lifecycle-secret";
    let file = bed.manifest(
        "job.yaml",
        "kjob.test/fail",
        "",
        &format!("  backoffLimit: 0\n  env:\n    secrets:\n      PASSWORD: {{value: {secret}}}\n"),
    );
    // The container prints the secret, plainly and base64-encoded (as a client would send it in
    // a header); the failure report shows its real log with both redacted.
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("admin:{secret}"));
    common::pod_log(
        &bed.ns,
        &[
            &format!("connecting with password {secret}"),
            &format!("Authorization: Basic {encoded}"),
            "error: connection refused",
        ],
    );
    let up = bed.run(&["up", "--manifest", &file, "--yes"]);
    up.exit(1);
    up.says(&format!(
        "Job {}/{} failed: BackoffLimitExceeded",
        bed.ns, bed.job
    ));
    // The report names the failing pod and its exit code, and shows its last log lines.
    up.says(&format!("  pod {}-", bed.job))
        .says("failed (exit code 1, Error)");
    up.says("    | connecting with password [redacted]")
        .says("    | error: connection refused")
        .never_says(&encoded);
    up.says(&format!("warning {}: BackoffLimitExceeded", bed.job));
    up.never_says(secret)
        .never_says("ErrorResponse")
        .never_says("Status {");
    assert!(
        up.took < Duration::from_secs(60),
        "it failed at once: {:?}",
        up.took
    );
    let record = bed.record();
    assert_eq!(
        (
            record.status,
            record.job_status.map(kjob::core::outcome::JobStatus::word)
        ),
        (Status::Failed, Some("Failed"))
    );
    assert!(!serde_json::to_string(&record).unwrap().contains(secret));
    let first = bed.job_uid().await;

    // wait on the failed Job: exit 1 with the same report; logs: the pod's real log, redacted.
    let wait = bed.run(&["wait", "--manifest", &file]);
    wait.exit(1)
        .says("BackoffLimitExceeded")
        .says("failed (exit code 1, Error)")
        .never_says(secret);
    let logs = bed.run(&["logs", "--name", &bed.job]);
    logs.ok()
        .says(&format!("{}-", bed.job))
        .says(": connecting with password [redacted]")
        .never_says(secret)
        .never_says(&encoded);

    // Nothing changed, but the failed Job is deleted and run again (it fails again, at once).
    let again = bed.run(&["up", "--manifest", &file, "--yes"]);
    again
        .exit(1)
        .says("deleting the old Job first: the Job failed last time")
        .says("BackoffLimitExceeded")
        .never_says(secret);
    assert!(
        again.took < Duration::from_secs(60),
        "not awaited forever: {:?}",
        again.took
    );
    assert_ne!(bed.job_uid().await, first, "a new Job ran");
    // The old Job's events are not reported as the new one's.
    for shown in [
        format!("  warning: {}: BackoffLimitExceeded", bed.job),
        format!("  warning {}: BackoffLimitExceeded", bed.job),
    ] {
        assert!(
            again.stderr.matches(&shown).count() <= 1,
            "{shown:?} repeated:\n{}",
            again.stderr
        );
    }
    bed.clean_up(&file).await;
}

#[tokio::test]
async fn a_job_that_hits_its_deadline_exits_1_with_deadline_exceeded() {
    let bed = Bed::new("deadline").await;
    let file = bed.manifest(
        "job.yaml",
        "kjob.test/hang",
        "",
        "  activeDeadlineSeconds: 3\n  backoffLimit: 0\n",
    );
    let up = bed.run(&["up", "--manifest", &file, "--yes"]);
    up.exit(1).says(&format!(
        "Job {}/{} failed: DeadlineExceeded",
        bed.ns, bed.job
    ));
    assert!(up.took < Duration::from_secs(60), "{:?}", up.took);
    assert_eq!(
        bed.record()
            .job_status
            .map(kjob::core::outcome::JobStatus::word),
        Some("Failed")
    );
    bed.clean_up(&file).await;
}

#[tokio::test]
async fn a_job_that_does_not_finish_in_time_exits_1_and_keeps_running() {
    let bed = Bed::new("timeout").await;
    let file = bed.manifest("job.yaml", "kjob.test/hang", "", "");
    let up = bed.run(&["up", "--manifest", &file, "--yes", "--timeout", "3"]);
    up.exit(1)
        .says(&format!(
            "Job {}/{} did not finish within 3s (active 1",
            bed.ns, bed.job
        ))
        .says("it keeps running");
    assert!(up.took < Duration::from_secs(30), "{:?}", up.took);
    let record = bed.record();
    assert_eq!(
        (
            record.status,
            record.job_status.map(kjob::core::outcome::JobStatus::word)
        ),
        (Status::Failed, Some("Running"))
    );
    let job = bed.live_job().await.expect("the Job is left running");
    assert!(!kjob::core::outcome::job_state(&job).finished());

    // kjob wait gives up the same way, and says so.
    let wait = bed.run(&["wait", "--name", &bed.job, "--timeout", "2"]);
    wait.exit(1)
        .says("did not finish within 2s")
        .says("it keeps running");
    bed.clean_up(&file).await;
}

#[tokio::test]
async fn a_job_collected_by_its_ttl_is_recorded_collected_and_not_run_again() {
    let bed = Bed::new("ttl").await;
    let file = bed.manifest("job.yaml", "busybox", "", "  ttlSecondsAfterFinished: 2\n");
    bed.run(&["up", "--manifest", &file, "--yes"]).ok();
    // Usually up sees the Job Complete; on a busy machine Kubernetes may delete it between two
    // polls, and up records it Collected at once.
    let first = bed
        .record()
        .job_status
        .map(kjob::core::outcome::JobStatus::word);
    assert!(matches!(first, Some("Complete" | "Collected")), "{first:?}");
    let (cluster, ns, job) = (&bed.cluster, bed.ns.clone(), bed.job.clone());
    common::eventually(
        "the TTL controller to delete the Job",
        Duration::from_secs(60),
        || {
            let (ns, job) = (ns.clone(), job.clone());
            async move {
                common::get(cluster, ObjectKind::Job, Some(&ns), &job)
                    .await
                    .is_none()
                    .then_some(())
            }
        },
    )
    .await;

    // The next up records the Job as Collected and does not create it again.
    let up = bed.run(&["up", "--manifest", &file, "--yes"]);
    if first == Some("Complete") {
        up.says("finished (Complete) and Kubernetes deleted it (ttlSecondsAfterFinished): recorded as Collected");
    }
    up.ok()
        .says("unchanged")
        .says("job=Collected")
        .never_says("applied Job");
    let record = bed.record();
    assert_eq!(
        (
            record.status,
            record.job_status.map(kjob::core::outcome::JobStatus::word)
        ),
        (Status::Applied, Some("Collected"))
    );
    // An in-place change does not run it again either; it is recorded.
    let up = bed.run(&[
        "up",
        "--manifest",
        &file,
        "--yes",
        "--set",
        "spec.parallelism=2",
    ]);
    up.ok().says("not run again").never_says("applied Job");
    assert_eq!(bed.record().manifest["spec"]["parallelism"], 2);
    assert_eq!(
        bed.record()
            .job_status
            .map(kjob::core::outcome::JobStatus::word),
        Some("Collected")
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        bed.live_job().await.is_none(),
        "the Job was not created again"
    );
    let pods = bed.cluster.job_pods(&bed.ns, &bed.job).await.unwrap();
    assert!(pods.is_empty(), "no pod ran again: {}", pods.len());

    // wait judges it by its recorded outcome; logs finds no pods (exit 1); down succeeds.
    bed.run(&["wait", "--manifest", &file])
        .ok()
        .says("Complete")
        .says("Collected");
    bed.run(&["logs", "--manifest", &file])
        .exit(1)
        .says("has no pods: the Job no longer exists");
    bed.clean_up(&file).await;
}

#[tokio::test]
async fn run_once_leaves_a_completed_job_alone_and_every_up_runs_it_again() {
    let once = Bed::new("once").await;
    let file = once.manifest("job.yaml", "busybox", "", "");
    once.run(&["up", "--manifest", &file, "--yes"]).ok();
    let uid = once.job_uid().await;
    once.run(&["up", "--manifest", &file, "--yes"])
        .ok()
        .says("unchanged")
        .never_says("waiting for Job");
    assert_eq!(once.job_uid().await, uid, "run once: the same Job");
    once.clean_up(&file).await;

    let every = Bed::new("every").await;
    let file = every.manifest(
        "job.yaml",
        "busybox",
        "  annotations: {kjob.project-planton.org/run-policy: every-up}\n",
        "",
    );
    every.run(&["up", "--manifest", &file, "--yes"]).ok();
    let uid = every.job_uid().await;
    let again = every.run(&["up", "--manifest", &file, "--yes"]);
    again
        .ok()
        .says("deleting the old Job first: kjob.project-planton.org/run-policy: every-up")
        .says("Job: Complete after");
    assert_ne!(every.job_uid().await, uid, "every-up: a new Job");
    assert_eq!(
        every
            .record()
            .job_status
            .map(kjob::core::outcome::JobStatus::word),
        Some("Complete")
    );
    every.clean_up(&file).await;
}

mod wait_logs;
