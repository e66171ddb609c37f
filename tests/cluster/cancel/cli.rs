//! The command line interrupted: `kjob up`, `wait` and `down` by SIGINT or SIGTERM, and Ctrl-C
//! on a terminal at the confirmation prompt (see the parent module).

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kjob::core::objects::ObjectKind;
use kjob::core::refs::ResourceKey;
use serde_json::json;

use super::{PROMPT, hold, live_job, owned, running};

/// A state directory and manifest for the CLI tests.
struct Bed {
    bed: common::cli::Bed,
    name: String,
    ns: String,
    manifest: String,
}

impl Bed {
    fn new(prefix: &str) -> Bed {
        let bed = common::cli::Bed::new();
        let name = common::unique(prefix);
        let ns = common::unique(&format!("{prefix}-ns"));
        let text = format!(
            "apiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesJob\nmetadata:\n  name: {name}\nspec:\n  namespace: {{value: {ns}}}\n  createNamespace: true\n  image: {{repo: kjob.test/hang}}\n"
        );
        let manifest = bed.file("job.yaml", &text);
        Bed {
            bed,
            name,
            ns,
            manifest,
        }
    }

    fn state(&self) -> PathBuf {
        self.bed.state()
    }

    fn command(&self, args: &[&str]) -> Command {
        self.bed.command(args)
    }

    /// Runs kjob to its end: (exit code, stdout, stderr, how long it took).
    fn run(&self, args: &[&str]) -> (Option<i32>, String, String, Duration) {
        let started = Instant::now();
        let out = self.command(args).output().expect("kjob runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            started.elapsed(),
        )
    }

    /// Starts kjob; its standard error comes line by line through the receiver.
    fn start(&self, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
        let mut child = self
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kjob starts");
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        (child, receive)
    }

    fn record(&self) -> Option<kjob::state::Record> {
        kjob::state::FileStore::new(self.state())
            .get(&ResourceKey {
                kind: "KubernetesJob".into(),
                env: String::new(),
                name: self.name.clone(),
            })
            .unwrap()
    }

    /// The lock file is empty: the run released the lock itself (not just the kernel at exit).
    fn lock_released(&self) {
        let lock = self.state().join("lock");
        let len = std::fs::metadata(&lock).map_or(0, |m| m.len());
        assert_eq!(len, 0, "{} still names its holder", lock.display());
    }
}

/// Reads `lines` until one contains `what`; returns every line read.
fn until(lines: &mpsc::Receiver<String>, what: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
            let hit = line.contains(what);
            seen.push(line);
            if hit {
                return seen;
            }
        }
    }
    panic!("no line with {what:?} within 60 s: {seen:#?}");
}

/// Sends `signal` to `child` and waits for it to exit: (exit code, time from the signal, the
/// rest of its standard error).
fn interrupt(
    child: &mut Child,
    lines: &mpsc::Receiver<String>,
    signal: &str,
) -> (Option<i32>, Duration, String) {
    let sent = Instant::now();
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = sent + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("kjob still runs 15 s after SIG{signal}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = sent.elapsed();
    std::thread::sleep(Duration::from_millis(100));
    let rest: Vec<String> = lines.try_iter().collect();
    (status.code(), took, rest.join("\n"))
}

/// `up`, `wait` and `down` interrupted by `signal`, each at its wait, then a clean `down`.
async fn cli_interrupted_by(signal: &str) {
    let cluster = common::cluster();
    let bed = Bed::new(&format!("cancel-{}", signal.to_ascii_lowercase()));
    let (name, ns, manifest) = (&bed.name, &bed.ns, bed.manifest.as_str());

    // up, interrupted while it waits for the Job.
    let (mut child, lines) = bed.start(&["up", "--manifest", manifest, "--yes"]);
    until(&lines, &format!("waiting for Job {ns}/{name}: active 1"));
    std::thread::sleep(Duration::from_millis(500));
    let (code, took, stderr) = interrupt(&mut child, &lines, signal);
    eprintln!("kjob up exited {code:?} {took:?} after SIG{signal}");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(took < PROMPT, "kjob up took {took:?} after SIG{signal}");
    assert!(
        stderr.contains(&format!("stopped waiting for Job {ns}/{name}: cancelled")),
        "{stderr}"
    );
    // State: what exists, the Job running; the lock released.
    let record = bed.record().expect("up recorded the resource");
    assert_eq!(record.status, kjob::state::Status::Failed);
    assert_eq!(
        record.job_status.map(kjob::core::outcome::JobStatus::word),
        Some("Running")
    );
    assert!(
        record
            .objects
            .iter()
            .any(|o| o.kind == ObjectKind::Job && &o.name == name),
        "{:?}",
        record.objects
    );
    bed.lock_released();
    let (code, list, stderr, _) = bed.run(&["list", "-o", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        list.contains(name.as_str()) && list.contains("Running"),
        "{list}"
    );
    let uid = running(&cluster, ns, name).await;

    // The lock is free: a second up starts at once (no lock wait, no lock error) and keeps the Job.
    let (code, _, stderr, took) = bed.run(&["up", "--manifest", manifest, "--yes", "--no-wait"]);
    eprintln!("the next kjob up took {took:?}");
    assert_eq!(code, Some(0), "{stderr}");
    let job = live_job(&cluster, ns, name).await.expect("the Job exists");
    assert_eq!(job["metadata"]["uid"], json!(uid), "the same Job");
    bed.lock_released();

    // wait, interrupted.
    let (mut child, lines) = bed.start(&["wait", "--manifest", manifest]);
    until(&lines, &format!("waiting for Job {ns}/{name}: active 1"));
    std::thread::sleep(Duration::from_millis(300));
    let (code, took, stderr) = interrupt(&mut child, &lines, signal);
    eprintln!("kjob wait exited {code:?} {took:?} after SIG{signal}");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(took < PROMPT, "kjob wait took {took:?} after SIG{signal}");

    // down, interrupted while it waits for the Job to be gone (a finalizer holds it).
    hold(&cluster, ns, name, true).await;
    let (mut child, lines) = bed.start(&["down", "--manifest", manifest, "--yes"]);
    common::eventually(
        "the Job's deletion to start",
        Duration::from_secs(60),
        || async {
            let job = live_job(&cluster, ns, name).await?;
            (!job["metadata"]["deletionTimestamp"].is_null()).then_some(())
        },
    )
    .await;
    std::thread::sleep(Duration::from_millis(300));
    let (code, took, stderr) = interrupt(&mut child, &lines, signal);
    eprintln!("kjob down exited {code:?} {took:?} after SIG{signal}");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(took < PROMPT, "kjob down took {took:?} after SIG{signal}");
    let record = bed.record().expect("the record stays while the Job exists");
    assert_eq!(record.status, kjob::state::Status::Deleting);
    assert!(
        record
            .all_objects()
            .iter()
            .any(|o| o.kind == ObjectKind::Job),
        "{:?}",
        record.objects
    );
    bed.lock_released();

    // down afterwards removes everything.
    hold(&cluster, ns, name, false).await;
    let (code, _, stderr, took) = bed.run(&["down", "--manifest", manifest, "--yes"]);
    eprintln!("the next kjob down took {took:?}");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(bed.record().is_none());
    let counts = owned(&cluster, name).await;
    assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_up_wait_and_down_with_state_recorded_and_the_lock_released() {
    cli_interrupted_by("INT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_up_wait_and_down_with_state_recorded_and_the_lock_released() {
    cli_interrupted_by("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_at_the_confirmation_exits_130_at_once_with_nothing_changed() {
    let cluster = common::cluster();
    let bed = Bed::new("cancel-ask");
    let state = bed.state().to_string_lossy().into_owned();
    let argv = [
        env!("CARGO_BIN_EXE_kjob"),
        "up",
        "--manifest",
        &bed.manifest,
        "--kubeconfig",
        &common::kubeconfig(),
        "--state-dir",
        &state,
    ]
    .map(|a| format!("'{}'", a.replace('\'', r"'\''")));
    // exec: kjob is the terminal's foreground process, so Ctrl-C reaches it alone.
    let line = format!("stty cols 200 rows 50; exec {}", argv.join(" "));
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env_remove("KJOB_STATE_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) runs");
    let mut keys = child.stdin.take().unwrap();
    let mut screen = child.stdout.take().unwrap();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = screen.read(&mut buf) {
            if n == 0
                || send
                    .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                    .is_err()
            {
                break;
            }
        }
    });
    let mut shown = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !shown.contains("Apply these changes? [y/N]") {
        assert!(Instant::now() < deadline, "no prompt within 60 s: {shown}");
        if let Ok(text) = receive.recv_timeout(Duration::from_millis(200)) {
            shown.push_str(&text);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    keys.write_all(b"\x03").unwrap();
    keys.flush().unwrap();
    let deadline = sent + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("kjob still asks 15 s after Ctrl-C: {shown}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = sent.elapsed();
    std::thread::sleep(Duration::from_millis(100));
    shown.extend(receive.try_iter());
    eprintln!(
        "kjob up at its prompt exited {:?} {took:?} after Ctrl-C",
        status.code()
    );
    assert_eq!(status.code(), Some(130), "{shown}");
    assert!(took < PROMPT, "kjob up took {took:?} after Ctrl-C");
    assert!(
        shown.contains("cancelled at the confirmation: nothing was changed"),
        "{shown}"
    );
    assert!(bed.record().is_none(), "nothing recorded");
    bed.lock_released();
    assert!(live_job(&cluster, &bed.ns, &bed.name).await.is_none());
    let counts = owned(&cluster, &bed.name).await;
    assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");
}

/// Every file under `dir`, with its bytes as text (lossy).
fn files(dir: &std::path::Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(here) = todo.pop() {
        for entry in std::fs::read_dir(&here).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_secret_never_reaches_disk_when_up_is_killed_mid_wait() {
    use base64::Engine as _;
    let cluster = common::cluster();
    let bed = Bed::new("killed");
    let (name, ns, manifest) = (&bed.name, &bed.ns, bed.manifest.as_str());
    let secret = format!("s3t-{}-k9", common::unique("x"));
    let set = format!("spec.env.secrets.TOKEN.value={secret}");
    let (mut child, lines) = bed.start(&["up", "--manifest", manifest, "--yes", "--set", &set]);
    until(&lines, &format!("waiting for Job {ns}/{name}: active 1"));
    // The state directory while the run holds the lock, then after kill -9.
    let during = files(&bed.state());
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let after = files(&bed.state());
    assert!(
        after.iter().any(|(p, _)| p.ends_with("lock")),
        "the lock file is there: {after:?}"
    );
    let encodings = [
        secret.clone(),
        base64::engine::general_purpose::STANDARD.encode(&secret),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&secret),
    ];
    for (path, text) in during.iter().chain(&after) {
        for form in &encodings {
            assert!(
                !text.contains(form.as_str()),
                "{} holds the --set secret ({form})",
                path.display()
            );
        }
    }
    // The secret was deployed (so the run did handle it), and the next run is not blocked.
    let data = common::get(
        &cluster,
        ObjectKind::Secret,
        Some(ns),
        &format!("{name}-env-secrets"),
    )
    .await
    .expect("the env Secret exists");
    assert_eq!(
        data["data"]["TOKEN"].as_str(),
        Some(
            base64::engine::general_purpose::STANDARD
                .encode(&secret)
                .as_str()
        )
    );
    let (code, _, stderr, _) = bed.run(&["down", "--manifest", manifest, "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    let counts = owned(&cluster, name).await;
    assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");
}
