//! What `up` and `down` show while their documents run ([`crate::cli::concurrent`]).
//!
//! On a terminal ([`enabled`]) a live view on standard error (indicatif's `MultiProgress`): a
//! header line with the counts (done, running, waiting, failed) and the time, and one line per
//! document. When every document fits on the screen each has its line from the start (waiting,
//! then a spinner with its current step while it runs, then its result); otherwise only the
//! running documents have a live line and each finished one is printed above them as a permanent
//! line. Warnings and log lines are printed above the view.
//!
//! Otherwise (standard error not a terminal, `-q`, `-o json|yaml`, `--color never`, `CI` set,
//! `TERM=dumb`) the plain lines of [`super::steps`], as before: a heading per document, then one
//! line per step.
//!
//! Everything shown comes from the same callers as the plain lines, already redacted.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::note;
use crate::cli::args::ColorChoice;
use crate::core::refs::ResourceKey;

/// Whether the live view is used: standard error is a terminal and nothing asks for plain
/// lines (`-q`, a structured output, `--color never`, `CI`, `TERM=dumb`).
pub fn enabled(colour: ColorChoice) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    !super::quiet()
        && !super::report::active()
        && colour != ColorChoice::Never
        && !set("CI")
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        && std::io::IsTerminal::is_terminal(&std::io::stderr())
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("the template is valid")
        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ")
}

/// The counts in the header.
#[derive(Debug, Default)]
struct Counts {
    done: usize,
    running: usize,
    failed: usize,
}

/// The view of one run: a header and a [`Line`] per document.
pub struct Board {
    multi: Option<MultiProgress>,
    header: Option<ProgressBar>,
    lines: Vec<Line>,
    counts: Mutex<Counts>,
    started: Instant,
}

/// What one document shows.
pub struct Line {
    key: ResourceKey,
    multi: Option<MultiProgress>,
    /// Every document has its line from the start (it fits on the screen).
    fixed: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Board {
    /// A view of `keys` (documents in the order shown) for `verb` ("up", "down"); live when
    /// `live` (see [`enabled`]), plain lines otherwise.
    pub fn new(verb: &'static str, keys: &[ResourceKey], live: bool) -> Self {
        let multi = live.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let rows = console::Term::stderr().size().0 as usize;
        let fixed = multi.is_some() && keys.len() + 2 <= rows;
        let header = multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::hidden());
            bar.set_style(style("{spinner} {prefix} [{elapsed}] {wide_msg}"));
            bar.set_prefix(verb);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let lines = keys
            .iter()
            .map(|key| {
                let bar = fixed.then(|| {
                    let m = multi.as_ref().expect("live");
                    let bar = m.add(ProgressBar::hidden());
                    bar.set_style(style("  {prefix}: {wide_msg}"));
                    bar.set_prefix(key.to_string());
                    bar.set_message("waiting");
                    bar.tick();
                    bar
                });
                Line {
                    key: key.clone(),
                    multi: multi.clone(),
                    fixed,
                    bar: Mutex::new(bar),
                }
            })
            .collect();
        let board = Self {
            multi,
            header,
            lines,
            counts: Mutex::new(Counts::default()),
            started: Instant::now(),
        };
        board.redraw_header();
        board
    }

    /// Whether this is the live view.
    pub fn live(&self) -> bool {
        self.multi.is_some()
    }

    /// Document `i`'s line.
    pub fn line(&self, i: usize) -> &Line {
        &self.lines[i]
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn redraw_header(&self) {
        if let Some(header) = &self.header {
            let c = self.counts();
            let waiting = self.lines.len() - c.done - c.running;
            header.set_message(format!(
                "{}/{} done, {} running, {waiting} waiting, {} failed",
                c.done,
                self.lines.len(),
                c.running,
                c.failed
            ));
        }
    }

    /// Document `i` starts: its heading (plain) or its spinner line (live).
    pub fn start(&self, i: usize) {
        self.counts().running += 1;
        self.lines[i].start();
        self.redraw_header();
    }

    /// Document `i` ended with `result` (a word and its detail, e.g. `failed: why`).
    pub fn finish(&self, i: usize, result: &str, failed: bool) {
        {
            let mut c = self.counts();
            c.running = c.running.saturating_sub(1);
            c.done += 1;
            c.failed += usize::from(failed);
        }
        self.lines[i].finish(result, if failed { "✗" } else { "✓" });
        self.redraw_header();
    }

    /// Document `i` will not run: its result is known without work (`unchanged`, `not
    /// deployed`).
    pub fn settle(&self, i: usize, result: &str) {
        self.counts().done += 1;
        self.lines[i].finish(result, "✓");
        self.redraw_header();
    }

    /// Document `i` did not start (skipped, not started): its line says so.
    pub fn not_run(&self, i: usize, result: &str) {
        self.lines[i].finish(result, "–");
    }

    /// Removes the live view's header (the documents' lines stay on the screen); the time
    /// taken.
    pub fn close(&self) -> Duration {
        if let Some(header) = &self.header {
            header.finish_and_clear();
        }
        for line in &self.lines {
            if let Some(bar) = line.bar().as_ref()
                && !bar.is_finished()
            {
                bar.finish();
            }
        }
        self.started.elapsed()
    }
}

impl Line {
    fn bar(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.bar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The live bar of this document, when it has one (a Job's wait progress draws on it).
    pub fn progress_bar(&self) -> Option<ProgressBar> {
        self.bar().clone()
    }

    fn start(&self) {
        let Some(multi) = &self.multi else {
            note!("{}:", self.key);
            return;
        };
        let mut slot = self.bar();
        let bar = slot.get_or_insert_with(|| {
            let bar = multi.add(ProgressBar::hidden());
            bar.set_prefix(self.key.to_string());
            bar
        });
        bar.set_style(style("  {spinner} {prefix} [{elapsed}]: {wide_msg}"));
        bar.reset_elapsed();
        bar.set_message("starting");
        bar.enable_steady_tick(Duration::from_millis(120));
    }

    /// One step of the document (an object applied, deleted, the Job's outcome): the line's
    /// message when live, a plain line (`text` as given, indented) otherwise.
    pub fn step(&self, text: &str) {
        match self.bar().as_ref() {
            Some(bar) => bar.set_message(text.trim_start().to_owned()),
            None => note!("{text}"),
        }
    }

    /// A line that stays (a warning, a log line): above the live view, or plain.
    pub fn above(&self, text: &str) {
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    /// A step line that stays on the screen (an object left alone): above the live view, or
    /// plain (not with `-q`).
    pub fn keep(&self, text: &str) {
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None => note!("{text}"),
        }
    }

    /// A result line on standard output (the live view steps aside while it is printed).
    pub fn out(&self, text: &str) {
        match &self.multi {
            Some(multi) => multi.suspend(|| println!("{text}")),
            None => println!("{text}"),
        }
    }

    fn finish(&self, result: &str, mark: &str) {
        let Some(multi) = &self.multi else { return };
        let mut slot = self.bar();
        if self.fixed {
            if let Some(bar) = slot.as_ref() {
                bar.set_style(style("  {prefix}: {wide_msg}"));
                bar.finish_with_message(format!("{mark} {result}"));
            }
            return;
        }
        if let Some(bar) = slot.take() {
            bar.finish_and_clear();
            multi.remove(&bar);
        }
        let _ = multi.println(format!("  {mark} {}: {result}", self.key));
    }
}
