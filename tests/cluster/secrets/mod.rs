//! Secret values never appear in clear text in anything the provider or the CLI prints or
//! stores, nor in the Pulumi engine's state.
//!
//! Each test deploys direct secret values (`spec.env.secrets.X.value`, and for the provider and
//! Pulumi `dockerConfigJson`), including a Job that fails (image `kjob.test/fail`, backoffLimit 0)
//! so that the error paths run, with `KJOB_LOG=debug` so tracing is as verbose as it gets. Then
//! it collects everything printed or stored and looks for each secret value, and for its base64
//! form (what a Kubernetes Secret's `data` holds):
//! - provider: the built binary launched as the engine launches it, with a fake engine that
//!   records every `Engine.Log` message; its stderr/stdout, the log messages, every gRPC error
//!   message and `ErrorResourceInitFailed` detail, Check failures, and every response's
//!   properties except inside the protocol's secret wrappers (those must be there: checked too);
//! - CLI: `kjob validate/preview/up/outputs/list/get/logs/down` (one value also through `--set`;
//!   invalid documents and `--set`s next to secret values), their stdout and stderr, and every
//!   file under the state directory;
//! - Pulumi: `pulumi preview/up/stack export/stack output/refresh/destroy` of a YAML program
//!   holding the values literally (nothing marks them secret but the provider's Check), then with a
//!   new value (diff and update), their output, and every file the run leaves under its
//!   PULUMI_HOME and file backend.
//!
//! Each value is also shown to have been deployed (read back from the cluster), so that a test
//! that never handled the secret cannot pass.

use crate::common;
use crate::launch;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use kjob::api::google_rpc;
use kjob::api::pulumirpc::resource_provider_client::ResourceProviderClient;
use kjob::api::pulumirpc::{
    CheckRequest, ConfigureRequest, CreateRequest, DeleteRequest, DiffRequest,
    ErrorResourceInitFailed, ReadRequest, UpdateRequest,
};
use kjob::cluster::Cluster;
use kjob::core::objects::ObjectKind;
use kjob::provider::values::{self, from_struct, to_struct};
use prost::Message;
use serde_json::{Value, json};
use tonic::transport::Channel;

const TYPE: &str = "kjob:index:KubernetesJob";

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The secret values of one test, and what to look for: each value and its base64 form.
struct Secrets {
    values: Vec<(String, String)>,
}

impl Secrets {
    /// `n` distinct values, e.g. `kjobSecret3x4a1b9zq`.
    fn new(tag: &str, n: usize) -> Secrets {
        let salt = common::unique(tag).replace('-', "x");
        let mut secrets = Secrets { values: Vec::new() };
        for i in 0..n {
            secrets.add(&format!("kjobSecret{i}{salt}zq"));
        }
        secrets
    }

    fn get(&self, i: usize) -> &str {
        &self.values[i].0
    }

    /// Adds a value that is itself secret (a .dockerconfigjson), with its base64 form.
    fn add(&mut self, value: &str) {
        self.values
            .push((value.to_owned(), base64(value.as_bytes())));
    }

    /// Every (what, where) of a secret found in `text`.
    fn found_in(&self, text: &str, place: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (value, b64) in &self.values {
            for needle in [value, b64] {
                if let Some(at) = text.find(needle.as_str()) {
                    let from = text[..at]
                        .char_indices()
                        .rev()
                        .nth(80)
                        .map_or(0, |(i, _)| i);
                    let to = (at + needle.len() + 80).min(text.len());
                    let to = (to..=text.len())
                        .find(|i| text.is_char_boundary(*i))
                        .unwrap_or(text.len());
                    out.push(format!("{place}: {needle:?} in ...{}...", &text[from..to]));
                }
            }
        }
        out
    }
}

/// A `.dockerconfigjson` whose only credential is `token`.
fn docker_config(token: &str) -> String {
    json!({"auths": {"registry.kjob.test": {"username": "kjob", "password": token, "auth": base64(format!("kjob:{token}").as_bytes())}}}).to_string()
}

/// `value` with every protocol secret wrapper replaced by "[secret]"; also returns how many.
fn strip_secrets(value: &Value) -> (Value, usize) {
    match value {
        Value::Object(map)
            if map.get(values::SIG).and_then(Value::as_str) == Some(values::SECRET_SIG) =>
        {
            (json!("[secret]"), 1)
        }
        Value::Object(map) => {
            let mut n = 0;
            let out = map
                .iter()
                .map(|(k, v)| {
                    let (v, m) = strip_secrets(v);
                    n += m;
                    (k.clone(), v)
                })
                .collect();
            (Value::Object(out), n)
        }
        Value::Array(items) => {
            let mut n = 0;
            let out = items
                .iter()
                .map(|v| {
                    let (v, m) = strip_secrets(v);
                    n += m;
                    v
                })
                .collect();
            (Value::Array(out), n)
        }
        other => (other.clone(), 0),
    }
}

/// Every file under `dir` (recursively), as lossy text, with its path.
fn files_under(dir: &Path, skip: &dyn Fn(&Path) -> bool) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if skip(&path) {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            out.extend(files_under(&path, skip));
        } else if kind.is_file()
            && let Ok(bytes) = std::fs::read(&path)
        {
            out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

/// The value of a key of a live Secret, decoded.
async fn secret_data(cluster: &Cluster, ns: &str, name: &str, key: &str) -> Option<String> {
    let secret = common::get(cluster, ObjectKind::Secret, Some(ns), name).await?;
    let encoded = secret["data"][key].as_str()?.to_owned();
    Some(encoded)
}

// ------------------------------------------------------------------------------------ provider

fn urn(name: &str) -> String {
    format!("urn:pulumi:secrets::proj::{TYPE}::{name}")
}

/// Everything seen over gRPC, as text to search.
#[derive(Default)]
struct Seen {
    texts: Vec<(String, String)>,
    wrappers: usize,
}

impl Seen {
    fn props(&mut self, what: &str, s: Option<&prost_types::Struct>) -> Value {
        let value = s.map(from_struct).unwrap_or(Value::Null);
        let (stripped, n) = strip_secrets(&value);
        self.wrappers += n;
        self.texts.push((what.to_owned(), stripped.to_string()));
        value
    }

    fn status(&mut self, what: &str, status: &tonic::Status) -> Option<ErrorResourceInitFailed> {
        self.texts
            .push((format!("{what} error message"), status.message().to_owned()));
        let details = google_rpc::Status::decode(status.details()).ok()?;
        self.texts
            .push((format!("{what} error status"), details.message.clone()));
        let failed = details
            .details
            .iter()
            .find(|d| d.type_url.ends_with("ErrorResourceInitFailed"))
            .and_then(|d| ErrorResourceInitFailed::decode(d.value.as_slice()).ok())?;
        self.texts
            .push((format!("{what} reasons"), failed.reasons.join("\n")));
        self.props(
            &format!("{what} partial outputs"),
            failed.properties.as_ref(),
        );
        Some(failed)
    }
}

async fn check(
    client: &mut ResourceProviderClient<Channel>,
    seen: &mut Seen,
    name: &str,
    news: &Value,
    olds: Option<&Value>,
) -> Value {
    let resp = client
        .check(CheckRequest {
            urn: urn(name),
            news: Some(to_struct(news)),
            olds: olds.map(to_struct),
            name: name.into(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .expect("Check")
        .into_inner();
    for f in &resp.failures {
        seen.texts.push((
            format!("Check {name} failure"),
            format!("{}: {}", f.property, f.reason),
        ));
    }
    seen.props(&format!("Check {name} inputs"), resp.inputs.as_ref())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_never_prints_logs_or_returns_a_secret_in_clear_text() {
    let cluster = common::cluster();
    let mut secrets = Secrets::new("prov", 5);
    let docker = docker_config(secrets.get(4));
    secrets.add(&docker);
    let (engine, address) = launch::FakeEngine::start().await;
    let mut provider =
        launch::Provider::launch(&address, &[("KJOB_LOG", "debug"), ("RUST_LOG", "debug")]);
    let mut client = provider.client().await;
    client
        .configure(ConfigureRequest {
            args: Some(to_struct(&json!({"kubeconfig": common::kubeconfig()}))),
            accept_secrets: true,
            ..Default::default()
        })
        .await
        .expect("configure");
    let mut seen = Seen::default();
    let ns = common::unique("sec-prov");

    // A Job that succeeds: a direct secret and image-pull credentials, as a program would pass
    // them (plain: only Check makes them secret).
    let ok = common::unique("sec-ok");
    let inputs = |token: &str| {
        json!({
            "spec": {"namespace": {"value": ns}, "createNamespace": true, "image": {"repo": "busybox"},
                     "env": {"variables": {"MODE": {"value": "plain"}}, "secrets": {"TOKEN": {"value": token}}}},
            "dockerConfigJson": docker
        })
    };
    let checked = check(&mut client, &mut seen, &ok, &inputs(secrets.get(0)), None).await;
    assert_eq!(
        checked["spec"]["env"]["secrets"]["TOKEN"]["value"][values::SIG],
        values::SECRET_SIG,
        "Check makes the value secret"
    );
    assert_eq!(
        checked["dockerConfigJson"][values::SIG],
        values::SECRET_SIG,
        "Check makes dockerConfigJson secret"
    );
    let preview = client
        .create(CreateRequest {
            urn: urn(&ok),
            properties: Some(to_struct(&checked)),
            name: ok.clone(),
            r#type: TYPE.into(),
            preview: true,
            ..Default::default()
        })
        .await
        .expect("preview Create")
        .into_inner();
    seen.props("preview Create outputs", preview.properties.as_ref());
    let created = client
        .create(CreateRequest {
            urn: urn(&ok),
            properties: Some(to_struct(&checked)),
            name: ok.clone(),
            r#type: TYPE.into(),
            timeout: 120.0,
            ..Default::default()
        })
        .await
        .expect("Create")
        .into_inner();
    let outputs = seen.props("Create outputs", created.properties.as_ref());
    assert_eq!(
        secret_data(&cluster, &ns, &format!("{ok}-env-secrets"), "TOKEN")
            .await
            .as_deref(),
        Some(secrets.values[0].1.as_str()),
        "the secret was deployed"
    );
    assert_eq!(
        secret_data(
            &cluster,
            &ns,
            &format!("{ok}-image-pull-secret"),
            ".dockerconfigjson"
        )
        .await
        .as_deref(),
        Some(base64(docker.as_bytes()).as_str()),
        "the credentials were deployed"
    );

    // A new secret value: Diff and an in-place Update.
    let news = check(
        &mut client,
        &mut seen,
        &ok,
        &inputs(secrets.get(1)),
        Some(&checked),
    )
    .await;
    let diff = client
        .diff(DiffRequest {
            id: created.id.clone(),
            urn: urn(&ok),
            olds: Some(to_struct(&outputs)),
            news: Some(to_struct(&news)),
            name: ok.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .expect("Diff")
        .into_inner();
    seen.texts.push((
        "Diff".into(),
        format!(
            "{:?} {:?} {:?}",
            diff.diffs, diff.replaces, diff.detailed_diff
        ),
    ));
    let updated = client
        .update(UpdateRequest {
            id: created.id.clone(),
            urn: urn(&ok),
            olds: Some(to_struct(&outputs)),
            news: Some(to_struct(&news)),
            name: ok.clone(),
            r#type: TYPE.into(),
            timeout: 120.0,
            ..Default::default()
        })
        .await
        .expect("Update")
        .into_inner();
    let outputs = seen.props("Update outputs", updated.properties.as_ref());
    assert_eq!(
        secret_data(&cluster, &ns, &format!("{ok}-env-secrets"), "TOKEN")
            .await
            .as_deref(),
        Some(secrets.values[1].1.as_str())
    );

    // Refresh, and import (which reads the values back from the live Secrets).
    let read = client
        .read(ReadRequest {
            id: created.id.clone(),
            urn: urn(&ok),
            properties: Some(to_struct(&outputs)),
            ..Default::default()
        })
        .await
        .expect("Read")
        .into_inner();
    seen.props("Read outputs", read.properties.as_ref());
    seen.props("Read inputs", read.inputs.as_ref());
    let import = client
        .read(ReadRequest {
            id: created.id.clone(),
            urn: urn(&ok),
            ..Default::default()
        })
        .await
        .expect("import")
        .into_inner();
    let imported = seen.props("import outputs", import.properties.as_ref());
    seen.props("import inputs", import.inputs.as_ref());
    assert_eq!(
        imported["spec"]["env"]["secrets"]["TOKEN"]["value"][values::SIG],
        values::SECRET_SIG,
        "import reads the value back as a secret"
    );

    // A Job that fails: the failure report (pods, events) and the partial outputs.
    let bad = common::unique("sec-bad");
    let bad_inputs = json!({"spec": {"namespace": {"value": ns}, "image": {"repo": "kjob.test/fail"}, "backoffLimit": 0,
        "command": ["sh", "-c", "echo $PASSWORD"],
        "env": {"secrets": {"PASSWORD": {"value": secrets.get(2)}}}}});
    let checked_bad = check(&mut client, &mut seen, &bad, &bad_inputs, None).await;
    // Real log text: the container prints the secret, plain and base64; the report shows the
    // log (the marker line) with the secret redacted.
    let printed = format!("PASSWORD={}", secrets.get(2));
    let printed64 = format!("encoded={}", base64(secrets.get(2).as_bytes()));
    common::pod_log(&ns, &["log-marker-prov-7", &printed, &printed64]);
    let status = client
        .create(CreateRequest {
            urn: urn(&bad),
            properties: Some(to_struct(&checked_bad)),
            name: bad.clone(),
            r#type: TYPE.into(),
            timeout: 120.0,
            ..Default::default()
        })
        .await
        .expect_err("the Job fails");
    let failed = seen
        .status("failing Create", &status)
        .expect("a partial failure");
    assert!(
        failed.reasons.join(" ").contains("BackoffLimitExceeded"),
        "{:?}",
        failed.reasons
    );
    assert!(
        failed.reasons.join(" ").contains("log-marker-prov-7"),
        "the failure report shows the pod's real log: {:?}",
        failed.reasons
    );
    let bad_outputs = from_struct(&failed.properties.unwrap());

    // Check failures next to a secret value: a bad key, an unknown field, a value and a reference.
    let invalid = json!({"spec": {"namespace": {"value": ns}, "image": {"repo": "busybox"},
        "env": {"secrets": {"bad key!": {"value": secrets.get(3)}, "BOTH": {"value": secrets.get(3), "secretRef": {"name": "x", "key": "y"}},
                            "ODD": {"value": secrets.get(3), "nope": secrets.get(3)}}}}});
    check(&mut client, &mut seen, "invalid", &invalid, None).await;
    // Create with inputs that do not check (the engine would not, but a client may).
    let status = client
        .create(CreateRequest {
            urn: urn("invalid"),
            properties: Some(to_struct(&invalid)),
            name: "invalid".into(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .expect_err("inputs that do not check are refused");
    seen.status("invalid Create", &status);

    for (name, outputs) in [(&ok, &outputs), (&bad, &bad_outputs)] {
        client
            .delete(DeleteRequest {
                id: format!("{ns}/{name}"),
                urn: urn(name),
                properties: Some(to_struct(outputs)),
                name: name.clone(),
                r#type: TYPE.into(),
                ..Default::default()
            })
            .await
            .expect("Delete");
    }
    assert!(provider.stop(), "clean exit");

    // Now look.
    let mut leaks = Vec::new();
    for (what, text) in &seen.texts {
        leaks.extend(secrets.found_in(text, what));
    }
    let logs = engine.messages();
    assert!(
        logs.len() > 3,
        "the provider logged through the engine: {logs:?}"
    );
    for log in &logs {
        leaks.extend(secrets.found_in(&log.message, "Engine.Log"));
    }
    let stderr = provider.stderr();
    assert!(
        stderr.contains("DEBUG"),
        "KJOB_LOG=debug makes the provider verbose:\n{stderr}"
    );
    leaks.extend(secrets.found_in(&stderr, "provider stderr"));
    leaks.extend(secrets.found_in(&provider.stdout(), "provider stdout"));
    assert!(
        seen.wrappers >= 10,
        "the secret values came back inside secret wrappers ({} seen)",
        seen.wrappers
    );
    eprintln!(
        "secrets/provider: searched {} responses, {} Engine.Log messages, {} bytes of stderr for {} values (and base64)",
        seen.texts.len(),
        logs.len(),
        stderr.len(),
        secrets.values.len()
    );
    assert!(
        leaks.is_empty(),
        "secret values in clear text:\n{}",
        leaks.join("\n")
    );
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

mod cli;
mod pulumi;
