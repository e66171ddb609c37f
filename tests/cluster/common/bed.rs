//! A second test bed of a test's own (its own run dir under /tmp and free ports, through
//! `scripts/testbed up` with `KJOB_TESTBED_DIR`/`KJOB_*_PORT`), whose API server a test may stop
//! and start without disturbing the others; `scripts/testbed down` when it is dropped, its logs
//! kept when the test failed.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use kjob::cluster::{Cluster, ClusterConfig};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A free TCP port on 127.0.0.1 (and, with `pair`, the one after it too: etcd's peer port).
pub fn free_port(pair: bool) -> u16 {
    for _ in 0..50 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = l.local_addr().unwrap().port();
        drop(l);
        if port < 65000 && (!pair || std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok()) {
            return port;
        }
    }
    panic!("no free port pair found");
}

/// The second test bed; `scripts/testbed down` (same environment) on drop.
pub struct Bed {
    dir: PathBuf,
    env: Vec<(&'static str, String)>,
}

impl Bed {
    pub fn up() -> Bed {
        let dir = PathBuf::from(format!("/tmp/kjob-testbed-faults-{}", std::process::id()));
        let env = vec![
            ("KJOB_TESTBED_DIR", dir.to_string_lossy().into_owned()),
            ("KJOB_TESTBED_PORT", free_port(false).to_string()),
            ("KJOB_ETCD_PORT", free_port(true).to_string()),
            ("KJOB_KCM_PORT", free_port(false).to_string()),
            ("KJOB_SCHED_PORT", free_port(false).to_string()),
            // kwok's kubelet server (pod logs): not the default 20250 of the first bed.
            ("KJOB_KWOK_PORT", free_port(false).to_string()),
        ];
        let bed = Bed { dir, env };
        let started = Instant::now();
        bed.testbed(&["up"]);
        eprintln!(
            "faults: second test bed up in {:.1}s ({:?})",
            started.elapsed().as_secs_f64(),
            bed.env
        );
        bed
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(repo().join("scripts/testbed"));
        cmd.args(args).stdin(std::process::Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    #[track_caller]
    pub fn testbed(&self, args: &[&str]) {
        let out = self.command(args).output().expect("run scripts/testbed");
        assert!(
            out.status.success(),
            "scripts/testbed {} failed ({:?}):\n{}{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn kubeconfig(&self) -> String {
        self.dir.join("kubeconfig").to_string_lossy().into_owned()
    }

    pub fn cluster(&self) -> Cluster {
        Cluster::new(ClusterConfig {
            kubeconfig: Some(self.kubeconfig()),
            context: None,
            ..ClusterConfig::default()
        })
    }

    /// Kills the API server (a crash: SIGKILL) or stops it gracefully (SIGTERM).
    pub async fn stop_apiserver(&self, kill: bool) {
        let args: &[&str] = if kill {
            &["stop", "kube-apiserver", "--kill"]
        } else {
            &["stop", "kube-apiserver"]
        };
        self.run_async(args).await;
        eprintln!(
            "faults: kube-apiserver {}",
            if kill { "killed" } else { "stopped" }
        );
    }

    /// Starts the API server again and waits until it is ready. Then restarts the controllers
    /// and the scheduler: after an outage their watches back off for up to a minute, which would
    /// only time the control plane's recovery, not the provider's. (kwok is left alone: it picks
    /// pods up again at its next node-lease sync, within ~10 s, and a fresh kwok is no faster.)
    pub async fn start_apiserver(&self) {
        self.run_async(&["start", "kube-apiserver"]).await;
        for component in ["kube-controller-manager", "kube-scheduler"] {
            self.run_async(&["stop", component, "--kill"]).await;
            self.run_async(&["start", component]).await;
        }
        eprintln!("faults: kube-apiserver started again (and the controllers restarted)");
    }

    pub async fn run_async(&self, args: &[&str]) {
        let mut cmd = tokio::process::Command::from(self.command(args));
        let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
            .await
            .expect("scripts/testbed in time")
            .expect("run scripts/testbed");
        assert!(
            out.status.success(),
            "scripts/testbed {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        match self.command(&["down"]).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "faults: scripts/testbed down failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("faults: scripts/testbed down did not run: {e}"),
        }
        if std::thread::panicking() {
            eprintln!(
                "faults: the second test bed's logs are kept in {}/logs",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
