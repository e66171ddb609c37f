//! What is shown while `up` and `wait` wait for a Job. On a terminal (standard error is one) a
//! spinner line shows the Job's active, succeeded and failed pod counts and the time waited
//! (indicatif); pod warning events are printed above it as they happen. Otherwise one plain
//! line is printed each time the counts change, and one per warning.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::core::outcome::Event;
use crate::core::secrets;

/// Seconds with one decimal, as printed in progress lines.
pub fn seconds(elapsed: Duration) -> String {
    format!("{:.1}s", elapsed.as_secs_f64())
}

/// What is shown while waiting for one Job: a spinner on a terminal, plain lines otherwise.
pub struct Progress {
    bar: Option<ProgressBar>,
    /// The bar is a document's line of the live view ([`super::live`]), not this Progress's own.
    shared: bool,
    label: String,
    started: Instant,
    hashes: BTreeSet<String>,
}

impl Progress {
    /// Starts showing progress for Job `label` (`namespace/name`) on standard error.
    pub fn start(label: &str) -> Self {
        Self::new(
            label,
            !super::quiet() && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
    }

    /// Progress with a spinner when `terminal`, plain lines otherwise.
    pub fn new(label: &str, terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let style = ProgressStyle::with_template(
                "  {spinner} waiting for Job {prefix} [{elapsed}]: {wide_msg}",
            )
            .expect("the template is valid")
            .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ");
            // One line that never wraps: the counts are cut to the terminal's width. Configured
            // while hidden, so that the first frame is complete.
            let bar = ProgressBar::hidden()
                .with_style(style)
                .with_prefix(label.to_owned())
                .with_message("starting");
            bar.set_draw_target(ProgressDrawTarget::stderr());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Self {
            bar,
            shared: false,
            label: label.to_owned(),
            started: Instant::now(),
            hashes: BTreeSet::new(),
        }
    }

    /// Progress on a document's line of the live view when it has one (the counts become the
    /// line's message), plain lines otherwise.
    pub fn on_line(line: &super::live::Line, label: &str) -> Self {
        match line.progress_bar() {
            Some(bar) => {
                bar.set_message(format!("waiting for Job {label}: starting"));
                Self {
                    bar: Some(bar),
                    shared: true,
                    label: label.to_owned(),
                    started: Instant::now(),
                    hashes: BTreeSet::new(),
                }
            }
            None => Self::new(label, false),
        }
    }

    /// Also redacts words whose SHA-256 is one of these redaction markers (see the module doc).
    pub fn redacting(mut self, hashes: BTreeSet<String>) -> Self {
        self.hashes = hashes;
        self
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Shows one event: new counts (the wait reports only changes) or a warning.
    pub fn event(&self, event: Event) {
        match event {
            Event::Progress {
                active,
                succeeded,
                failed,
            } => {
                let counts = format!("active {active}, succeeded {succeeded}, failed {failed}");
                match &self.bar {
                    Some(bar) if self.shared => {
                        bar.set_message(format!("waiting for Job {}: {counts}", self.label));
                    }
                    Some(bar) => bar.set_message(counts),
                    None => super::note!(
                        "  waiting for Job {}: {counts} ({})",
                        self.label,
                        seconds(self.elapsed())
                    ),
                }
            }
            Event::Warning(text) => {
                let line = format!("  warning: {}", secrets::redact_marked(&text, &self.hashes));
                match &self.bar {
                    Some(bar) => bar.println(line),
                    None => eprintln!("{line}"),
                }
            }
        }
    }

    /// Shows one line of a pod's log (`up --logs`) on standard error, prefixed with the pod's
    /// name and redacted like warnings.
    pub fn log_line(&self, pod: &str, line: &str) {
        let line = format!("  {pod}: {}", secrets::redact_marked(line, &self.hashes));
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the spinner (plain lines, or a document's line, need nothing).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar
            && !self.shared
        {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_progress_needs_no_terminal() {
        let progress = Progress::new("ns/job", false);
        progress.event(Event::Progress {
            active: 1,
            succeeded: 0,
            failed: 0,
        });
        progress.finish();
        assert!(progress.bar.is_none());
        assert_eq!(seconds(Duration::from_millis(1240)), "1.2s");
    }
}
