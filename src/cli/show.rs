//! What the CLI prints: validation results, previews with a coloured diff of the inputs, delete
//! plans, outputs and state records. Secret values never reach the screen: the manifests
//! compared are redacted ([`crate::core::secrets::mark`]) and secret paths are masked.

use serde_json::{Value, json};

use super::plan::{Action, Change, Planned, Target};
use super::{CliError, Exit, Format};
use crate::core::diff::ChangeKind;
use crate::core::path::{PropertyPath, Segment};
use crate::state::{Record, Store};

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
pub fn down_plan(targets: &[Target], store: &Store, colour: bool) {
    let paint = Paint::new(colour);
    let mut any = false;
    for target in targets.iter().rev() {
        match &target.record {
            None => println!(
                "{} {}",
                paint.bold(&target.key.to_string()),
                paint.dim(&format!(
                    "(not in the state store at {}: nothing to delete)",
                    store.dir().display()
                ))
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

fn yaml(value: &Value) -> Result<String, CliError> {
    serde_saphyr::to_string(value)
        .map_err(|e| CliError::new(Exit::Failed, format!("cannot write YAML: {e}")))
}

fn print_structured(value: &Value, format: Format) -> Result<(), CliError> {
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(value).expect("JSON values serialize")
        ),
        Format::Yaml | Format::Table => print!("{}", yaml(value)?),
    }
    Ok(())
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints the outputs of deployed resources.
pub fn outputs(targets: &[Target], format: Format) -> Result<(), CliError> {
    let records: Vec<&Record> = targets.iter().filter_map(|t| t.record.as_ref()).collect();
    match format {
        Format::Table => {
            for (i, record) in records.iter().enumerate() {
                if records.len() > 1 {
                    if i > 0 {
                        println!();
                    }
                    println!("{}", record.key());
                }
                let entries: Vec<(String, String)> = record
                    .outputs
                    .as_object()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect())
                    .unwrap_or_default();
                let width = entries.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                for (k, v) in entries {
                    println!("{k:<width$}  {v}");
                }
            }
            Ok(())
        }
        _ if records.len() == 1 => print_structured(&records[0].outputs, format),
        _ => {
            let all: Vec<Value> = records
                .iter()
                .map(
                    |r| json!({"kind": r.kind, "env": r.env, "name": r.name, "outputs": r.outputs}),
                )
                .collect();
            print_structured(&Value::Array(all), format)
        }
    }
}

fn table(rows: &[Vec<String>]) {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

/// Prints the resources of the state store.
pub fn list(records: &[Record], format: Format) -> Result<(), CliError> {
    match format {
        Format::Table => {
            if records.is_empty() {
                println!("The state store holds no resources.");
                return Ok(());
            }
            let mut rows = vec![
                ["KIND", "ENV", "NAME", "STATUS", "JOB", "OBJECTS", "UPDATED"]
                    .map(String::from)
                    .to_vec(),
            ];
            for r in records {
                rows.push(vec![
                    r.kind.clone(),
                    if r.env.is_empty() {
                        "-".into()
                    } else {
                        r.env.clone()
                    },
                    r.name.clone(),
                    r.status.as_str().into(),
                    r.job_status
                        .map_or_else(|| "-".into(), |s| s.word().to_owned()),
                    r.objects.len().to_string(),
                    r.updated_at.clone(),
                ]);
            }
            table(&rows);
            Ok(())
        }
        _ => {
            let all: Vec<Value> = records
                .iter()
                .map(|r| {
                    json!({
                        "kind": r.kind, "env": r.env, "name": r.name, "status": r.status.as_str(),
                        "jobStatus": r.job_status, "objects": r.objects.iter().map(ToString::to_string).collect::<Vec<_>>(),
                        "createdAt": r.created_at, "updatedAt": r.updated_at,
                    })
                })
                .collect();
            print_structured(&Value::Array(all), format)
        }
    }
}

/// Prints one state record.
pub fn record(record: &Record, format: Format) -> Result<(), CliError> {
    match format {
        Format::Table => {
            let mut rows = vec![
                vec!["kind".to_owned(), record.kind.clone()],
                vec!["env".into(), record.env.clone()],
                vec!["name".into(), record.name.clone()],
                vec!["status".into(), record.status.as_str().into()],
                vec![
                    "job status".into(),
                    record
                        .job_status
                        .map(|s| s.word().to_owned())
                        .unwrap_or_default(),
                ],
                vec!["created".into(), record.created_at.clone()],
                vec!["updated".into(), record.updated_at.clone()],
            ];
            if let Some(e) = &record.error {
                rows.push(vec!["error".into(), e.clone()]);
            }
            for id in &record.objects {
                rows.push(vec!["object".into(), id.to_string()]);
            }
            if let Some(m) = record.outputs.as_object() {
                for (k, v) in m {
                    rows.push(vec![format!("output {k}"), text(v)]);
                }
            }
            table(&rows);
            Ok(())
        }
        _ => print_structured(
            &serde_json::to_value(record).expect("records serialize"),
            format,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::diff;

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
