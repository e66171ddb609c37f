//! Outputs, lists and state records, as tables, JSON or YAML.

use std::path::Path;

use serde_json::{Value, json};

use crate::cli::select::Target;
use crate::cli::{CliError, Exit, Format};
use crate::state::Record;

fn yaml(value: &Value) -> Result<String, CliError> {
    serde_saphyr::to_string(value)
        .map_err(|e| CliError::new(Exit::Failed, format!("cannot write YAML: {e}")))
}

pub(super) fn print_structured(value: &Value, format: Format) -> Result<(), CliError> {
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

/// Prints where `kjob schema` wrote the schemas.
pub fn schema_written(dir: &Path) {
    let d = dir.display();
    println!(
        "wrote {d}/{}, {d}/{} and {d}/{}",
        crate::schema::PULUMI_SCHEMA_FILE,
        crate::schema::JSON_SCHEMA_FILE,
        crate::schema::NAMESPACE_JSON_SCHEMA_FILE
    );
}

/// `kjob load-manifest`'s output: the documents as YAML (separated by `---`) or JSON (one
/// document: an object; several: a list).
pub fn effective_manifests(documents: &[Value], format: Format) -> Result<(), CliError> {
    match (format, documents) {
        (Format::Json, [one]) => print_structured(one, Format::Json),
        (Format::Json, many) => print_structured(&Value::Array(many.to_vec()), Format::Json),
        (_, many) => {
            for (i, document) in many.iter().enumerate() {
                if i > 0 {
                    println!("---");
                }
                print!("{}", yaml(document)?);
            }
            Ok(())
        }
    }
}
