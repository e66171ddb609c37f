//! What the CLI prints, and nothing else does (the `cli` module denies printing elsewhere):
//! validation results, previews with a coloured diff of the inputs, delete plans and errors
//! here; outputs, lists and state records in [`records`]; the spinner shown while waiting for a
//! Job in [`progress`]; the lines `up`, `down`, `wait` and `logs` print as they go in [`steps`].
//! Secret values never reach the screen: the manifests compared are redacted
//! ([`crate::core::secrets::mark`]), secret paths are masked, and what comes from the cluster
//! is redacted by the callers before it gets here.

#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod docs;
pub mod live;
pub mod progress;
pub mod records;
pub mod report;
pub mod state;
pub mod steps;

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};

use serde_json::Value;

use super::CliError;
use super::args::ColorChoice;
use super::plan::Planned;
use super::select::Target;
use crate::core::diff::ChangeKind;
use crate::core::path::{PropertyPath, Segment};
use crate::core::plan::{Action, Change};
use crate::state::Store;

pub use progress::{Progress, seconds};
pub use records::{effective_manifests, list, outputs, record, schema_written};
pub use state::store_moved;

/// Whether standard output should be coloured: `--color always` or `never` says; `auto`
/// colours a terminal when NO_COLOR is unset (or empty).
pub fn use_colour(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// How much goes to standard error: 0 quiet (`-q`: errors only), 1 normal, 2 and more verbose
/// (`-v`, `-vv`).
static LEVEL: AtomicU8 = AtomicU8::new(1);

/// Sets how much goes to standard error.
pub fn set_level(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
}

/// `-q`: progress and step lines are not printed.
pub fn quiet() -> bool {
    LEVEL.load(Ordering::Relaxed) == 0
}

/// Prints a progress or step line on standard error unless `-q`.
macro_rules! note {
    ($($arg:tt)*) => {
        if !$crate::cli::show::quiet() {
            eprintln!($($arg)*);
        }
    };
}
pub(crate) use note;

/// Prints the error a command ends with: its lines, then `error: <message>` (standard error).
pub fn error(e: &CliError) {
    for line in &e.details {
        eprintln!("{line}");
    }
    eprintln!("error: {}", e.message);
}

/// A signal arrived: the command stops (standard error).
pub fn interrupted(signal: &str) {
    eprintln!("{signal} received: stopping (a second signal exits at once)");
}

/// A second signal arrived: the process exits now.
pub fn interrupted_again(signal: &str) {
    eprintln!("{signal} again: exiting now");
}

/// The command did not end within `grace` of the signal: the process exits now.
pub fn interrupt_grace_over(grace: std::time::Duration) {
    eprintln!(
        "still busy {:.1}s after the signal: exiting now",
        grace.as_secs_f64()
    );
}

/// Asks `question` on standard output (`[y/N]`) and reads one line of answer from standard
/// input.
pub fn ask(question: &str) -> std::io::Result<String> {
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer)
}

/// ANSI colours, or none.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// Colours when `on`.
    pub fn new(on: bool) -> Self {
        Self { on }
    }

    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// For creations and additions.
    pub fn green(&self, text: &str) -> String {
        self.wrap("32", text)
    }
    /// For updates.
    pub fn yellow(&self, text: &str) -> String {
        self.wrap("33", text)
    }
    /// For deletions.
    pub fn red(&self, text: &str) -> String {
        self.wrap("31", text)
    }
    /// For replacements.
    pub fn magenta(&self, text: &str) -> String {
        self.wrap("35", text)
    }
    /// For what does not change.
    pub fn dim(&self, text: &str) -> String {
        self.wrap("2", text)
    }
    /// For headings.
    pub fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }

    fn action(&self, action: Action) -> String {
        let text = format!("{:<2} {:<9}", symbol(action), action.word());
        match action {
            Action::Create => self.green(&text),
            Action::Update => self.yellow(&text),
            Action::Replace => self.magenta(&text),
            Action::Delete => self.red(&text),
            Action::Unchanged | Action::Foreign => self.dim(&text),
        }
    }
}

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Update => "~",
        Action::Replace => "+-",
        Action::Delete => "-",
        Action::Unchanged | Action::Foreign => "=",
    }
}

/// Prints what `validate` found (everything valid; failures are errors).
pub fn validated(planned: &[Planned]) {
    for p in planned {
        if report::active() {
            report::validated(p);
            continue;
        }
        let objects: Vec<String> = p.objects().iter().map(|o| o.id.to_string()).collect();
        println!(
            "valid: {} ({} document {}): {}",
            p.key,
            p.doc.source,
            p.doc.index + 1,
            objects.join(", ")
        );
    }
}

/// The value at a property path of a JSON document.
pub fn value_at<'a>(doc: &'a Value, path: &PropertyPath) -> Option<&'a Value> {
    let mut here = doc;
    for segment in &path.0 {
        here = match segment {
            Segment::Field(name) | Segment::Key(name) => here.get(name)?,
            Segment::Index(i) => here.get(*i)?,
        };
    }
    Some(here)
}

fn shown(path: &PropertyPath, value: Option<&Value>) -> String {
    match value {
        None => "(none)".into(),
        Some(_) if crate::core::secrets::is_secret_path(path) => "[secret]".into(),
        Some(Value::String(s)) if crate::core::secrets::is_marker(s) => "[secret]".into(),
        Some(v) => v.to_string(),
    }
}

/// The lines of an input diff.
pub fn diff_lines(change: &Change, paint: Paint) -> Vec<String> {
    change
        .inputs
        .changes
        .iter()
        .map(|c| {
            let old = value_at(&change.old, &c.path);
            let new = value_at(&change.new, &c.path);
            let forces = if c.replace && change.replace_job.is_some() {
                " (forces the Job's replacement)"
            } else {
                ""
            };
            match c.kind {
                ChangeKind::Add => paint.green(&format!("+ {}: {}", c.path, shown(&c.path, new))),
                ChangeKind::Delete => paint.red(&format!("- {}: {}", c.path, shown(&c.path, old))),
                ChangeKind::Update if crate::core::secrets::is_secret_path(&c.path) => {
                    paint.yellow(&format!("~ {}: [secret changed]{forces}", c.path))
                }
                ChangeKind::Update => paint.yellow(&format!(
                    "~ {}: {} => {}{forces}",
                    c.path,
                    shown(&c.path, old),
                    shown(&c.path, new)
                )),
            }
        })
        .collect()
}

/// Prints a preview of `up`.
pub fn preview(planned: &[Planned], changes: &[Change], colour: bool) {
    if report::active() {
        for (p, change) in planned.iter().zip(changes) {
            report::planned(p, change);
        }
        return;
    }
    let paint = Paint::new(colour);
    let mut counts = [0usize; 5];
    for (p, change) in planned.iter().zip(changes) {
        let state = match &change.previous {
            None => "new".to_owned(),
            Some(r) if change.skip => format!("unchanged, {}", r.status.as_str()),
            Some(r) => format!("deployed, last run {}", r.status.as_str()),
        };
        println!(
            "{} {}",
            paint.bold(&p.key.to_string()),
            paint.dim(&format!(
                "({state}; {} document {})",
                p.doc.source,
                p.doc.index + 1
            ))
        );
        for (id, action) in &change.objects {
            let note = if *action == Action::Foreign {
                paint.dim(" (exists and is not managed by kjob: used as it is)")
            } else if id.kind == crate::core::objects::ObjectKind::Job
                && change.keeps_collected_job()
            {
                paint.dim(" (finished; Kubernetes deleted it after ttlSecondsAfterFinished: not run again)")
            } else {
                String::new()
            };
            println!("  {} {id}{note}", paint.action(*action));
            let slot = match action {
                Action::Create => 0,
                Action::Update => 1,
                Action::Replace => 2,
                Action::Delete => 3,
                Action::Unchanged | Action::Foreign => 4,
            };
            counts[slot] += 1;
        }
        if let Some(why) = &change.replace_job {
            println!(
                "  {}",
                paint.magenta(&format!("the Job is deleted, then created again: {why}"))
            );
        }
        if !change.skip && !change.inputs.is_empty() {
            println!(
                "  {}",
                paint.dim(if change.previous.is_none() {
                    "inputs:"
                } else {
                    "changed inputs:"
                })
            );
            for line in diff_lines(change, paint) {
                println!("    {line}");
            }
        }
    }
    println!(
        "Plan: {} to create, {} to update, {} to replace, {} to delete, {} unchanged.",
        paint.green(&counts[0].to_string()),
        paint.yellow(&counts[1].to_string()),
        paint.magenta(&counts[2].to_string()),
        paint.red(&counts[3].to_string()),
        counts[4]
    );
}

/// Prints what `down` deletes, in the order it deletes.
pub fn down_plan(targets: &[Target], store: &dyn Store, colour: bool) {
    if report::active() {
        for target in targets.iter().rev() {
            let objects: Vec<_> = target
                .record
                .iter()
                .flat_map(|record| {
                    let deleted = record
                        .all_objects()
                        .into_iter()
                        .rev()
                        .map(|id| (id, Action::Delete));
                    deleted.chain(
                        record
                            .foreign
                            .iter()
                            .map(|id| (id.clone(), Action::Foreign)),
                    )
                })
                .collect();
            report::down(&target.key, &objects);
        }
        return;
    }
    let paint = Paint::new(colour);
    let mut any = false;
    for target in targets.iter().rev() {
        match &target.record {
            None => println!(
                "{} {}",
                paint.bold(&target.key.to_string()),
                paint.dim(&format!("(not in {}: nothing to delete)", store.describe()))
            ),
            Some(record) => {
                any = true;
                println!(
                    "{} {}",
                    paint.bold(&target.key.to_string()),
                    paint.dim(&format!("(last run {})", record.status.as_str()))
                );
                for id in record.all_objects().iter().rev() {
                    let note = if record.objects.contains(id) {
                        String::new()
                    } else {
                        paint.dim(" (pending: deleted if it exists)")
                    };
                    println!("  {} {id}{note}", paint.action(Action::Delete));
                }
                for id in &record.foreign {
                    println!(
                        "  {} {id} {}",
                        paint.action(Action::Foreign),
                        paint.dim("(not managed by kjob: left alone)")
                    );
                }
            }
        }
    }
    if !any {
        println!("Nothing to delete.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::diff;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_in_diffs() {
        let old = json!({"spec": {"parallelism": 1, "env": {"secrets": {"PW": {"value": crate::core::secrets::marker("a")}}}}});
        let new = json!({"spec": {"parallelism": 2, "env": {"secrets": {"PW": {"value": crate::core::secrets::marker("b")}, "NEW": {"value": crate::core::secrets::marker("c")}}}}});
        let change = Change {
            key: crate::core::refs::ResourceKey {
                kind: "KubernetesJob".into(),
                env: String::new(),
                name: "j".into(),
            },
            previous: None,
            objects: Vec::new(),
            inputs: diff::diff(&old, &new, &[], &|_| false),
            old,
            new,
            replace_job: Some("x".into()),
            skip: false,
        };
        let lines = diff_lines(&change, Paint::new(false));
        assert_eq!(
            lines,
            [
                "+ spec.env.secrets.NEW.value: [secret]",
                "~ spec.env.secrets.PW.value: [secret changed]",
                "~ spec.parallelism: 1 => 2",
            ]
        );
        let coloured = diff_lines(&change, Paint::new(true));
        assert!(coloured[2].starts_with("\x1b[33m"));
    }

    #[test]
    fn values_at_paths() {
        let doc = json!({"spec": {"command": ["a", "b"], "configMaps": {"app.conf": "x"}}});
        let p = PropertyPath::root().field("spec");
        assert_eq!(
            value_at(&doc, &p.field("command").index(1)),
            Some(&json!("b"))
        );
        assert_eq!(
            value_at(&doc, &p.field("configMaps").key("app.conf")),
            Some(&json!("x"))
        );
        assert_eq!(value_at(&doc, &p.field("nope")), None);
    }
}
