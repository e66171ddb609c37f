//! The status line the engine shows for a KubernetesJob while the provider waits for its Job
//! (`Engine.Log`, ephemeral): the pod counts, then the latest log line of each pod, redacted
//! (`Waiting for the Job to finish (active: 1, succeeded: 0, failed: 0) | migrate-x7k2p:
//! loading batch 3`). Every change sends the whole line again; the engine shows the newest.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::core::secrets;
use crate::provider::engine::EngineLog;

/// The longest log line shown, in characters (a status line is one line of a terminal).
const LINE_CHARS: usize = 120;

#[derive(Debug, Default)]
struct Shown {
    counts: String,
    latest: BTreeMap<String, String>,
}

/// The status line of one resource's wait.
#[derive(Clone)]
pub(super) struct WaitStatus {
    log: EngineLog,
    urn: String,
    secrets: Arc<Vec<String>>,
    shown: Arc<Mutex<Shown>>,
}

impl WaitStatus {
    /// For resource `urn`, redacting `secrets` from log lines.
    pub(super) fn new(log: &EngineLog, urn: &str, secrets: &[String]) -> Self {
        Self {
            log: log.clone(),
            urn: urn.to_owned(),
            secrets: Arc::new(secrets.to_vec()),
            shown: Arc::default(),
        }
    }

    /// New pod counts.
    pub(super) fn counts(&self, active: i32, succeeded: i32, failed: i32) {
        self.change(|shown| {
            shown.counts = format!(
                "Waiting for the Job to finish (active: {active}, succeeded: {succeeded}, failed: {failed})"
            );
        });
    }

    /// A pod's newest log line (redacted here, before it is kept or sent).
    pub(super) fn line(&self, pod: &str, line: &str) {
        let mut line = secrets::redact(line.trim_end(), &self.secrets);
        if line.chars().count() > LINE_CHARS {
            line = line.chars().take(LINE_CHARS).collect::<String>() + "…";
        }
        self.change(|shown| {
            shown.latest.insert(pod.to_owned(), line);
        });
    }

    fn change(&self, f: impl FnOnce(&mut Shown)) {
        let text = {
            let mut shown = self
                .shown
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut shown);
            render(&shown)
        };
        let (log, urn) = (self.log.clone(), self.urn.clone());
        tokio::spawn(async move { log.status(&urn, text).await });
    }
}

fn render(shown: &Shown) -> String {
    let mut parts = vec![if shown.counts.is_empty() {
        "Waiting for the Job to finish".to_owned()
    } else {
        shown.counts.clone()
    }];
    parts.extend(
        shown
            .latest
            .iter()
            .map(|(pod, line)| format!("{pod}: {line}")),
    );
    parts.join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_then_each_pods_latest_line() {
        let mut shown = Shown::default();
        assert_eq!(render(&shown), "Waiting for the Job to finish");
        shown.counts = "Waiting (active: 2)".into();
        shown.latest.insert("b-2".into(), "two".into());
        shown.latest.insert("a-1".into(), "one".into());
        assert_eq!(render(&shown), "Waiting (active: 2) | a-1: one | b-2: two");
    }
}
