//! Side-by-side provider benchmark, driven by `scripts/bench` (not a test; run on demand).
//!
//! Spawns the release `pulumi-resource-kjob` and, when given, pulumi-kubernetes'
//! `pulumi-resource-kubernetes`, each against the same in-process fake engine, and measures
//! through the same generated gRPC client (`ResourceProviderClient`):
//!
//! * start-up: spawn to the port on stdout (N times, alternating providers), and VmRSS after
//!   1 s idle;
//! * Check and Diff latency per resource (median/p95 of N calls, alternating providers);
//! * Create of one KubernetesJob against the test bed, with waiting off and on, beside the floor:
//!   the same rendered objects applied by a bare `kjob::cluster::Cluster` (and, with waiting on,
//!   a bare watch until the Job is Complete), and beside pulumi-kubernetes creating the same
//!   objects as `kubernetes:core/v1:Namespace`, `ConfigMap`, `Secret`, `ServiceAccount` and
//!   `kubernetes:batch/v1:Job`. Rounds alternate the variants so drift in machine load hits all.
//!
//! Usage: bench_provider --kjob BIN [--pk8s BIN] --kubeconfig FILE [--out FILE]
//!        [--startup N] [--rpc N] [--create N]
//! Prints the results as JSON (to --out, else stdout). Every namespace it creates is named
//! `kjob-bench-*` and is deleted before it exits.

mod calls;
mod engine;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use kjob::api::pulumirpc::engine_server::{Engine, EngineServer};
use kjob::api::pulumirpc::resource_provider_client::ResourceProviderClient;
use kjob::api::pulumirpc::{
    self as rpc, CheckRequest, ConfigureRequest, CreateRequest, DiffRequest, GetSchemaRequest,
    diff_response::DiffChanges,
};
use kjob::cluster::{Cluster, ClusterConfig};
use kjob::core::objects::{ObjectKind, ObjectRef};
use kjob::kinds::job::render::RenderOptions;
use kjob::provider::values::{from_struct, to_struct};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use calls::*;
use engine::*;

const KJOB_TYPE: &str = "kjob:index:KubernetesJob";
const MAX_MESSAGE: usize = 400 * 1024 * 1024;

type Client = ResourceProviderClient<Channel>;
type Error = Box<dyn std::error::Error + Send + Sync>;

// ---------------------------------------------------------------------------------------------
// Statistics.

pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// median, p95, min, max, mean, n, and the coefficient of variation, of samples in ms.
pub(crate) fn stats(samples: &[f64]) -> Value {
    let mut s = samples.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len() as f64;
    let mean = s.iter().sum::<f64>() / n;
    let sd = (s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n.max(1.0)).sqrt();
    json!({
        "n": s.len(), "median": quantile(&s, 0.5), "p95": quantile(&s, 0.95), "min": s.first(), "max": s.last(),
        "mean": mean, "cv": if mean > 0.0 { sd / mean } else { 0.0 },
        "iqr": quantile(&s, 0.75) - quantile(&s, 0.25),
    })
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn ratio(a: &Value, b: &Value, key: &str) -> Value {
    match (a[key].as_f64(), b[key].as_f64()) {
        (Some(x), Some(y)) if y > 0.0 => json!(x / y),
        _ => Value::Null,
    }
}

// ---------------------------------------------------------------------------------------------

struct Args {
    kjob: String,
    pk8s: Option<String>,
    kubeconfig: String,
    out: Option<String>,
    startup: usize,
    rpc: usize,
    create: usize,
}

fn args() -> Args {
    let mut a = Args {
        kjob: String::new(),
        pk8s: None,
        kubeconfig: String::new(),
        out: None,
        startup: 20,
        rpc: 200,
        create: 20,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--kjob" => a.kjob = value(),
            "--pk8s" => a.pk8s = Some(value()).filter(|s| !s.is_empty()),
            "--kubeconfig" => a.kubeconfig = value(),
            "--out" => a.out = Some(value()),
            "--startup" => a.startup = value().parse().expect("--startup N"),
            "--rpc" => a.rpc = value().parse().expect("--rpc N"),
            "--create" => a.create = value().parse().expect("--create N"),
            other => {
                panic!(
                    "unknown argument {other}; see the header of examples/bench_provider/main.rs"
                )
            }
        }
    }
    assert!(
        !a.kjob.is_empty() && !a.kubeconfig.is_empty(),
        "--kjob and --kubeconfig are required"
    );
    a
}

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{:x}",
        (nanos as u64 ^ std::process::id() as u64) & 0xffffff
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let a = args();
    let (engine, engine_logs) = start_engine().await?;
    let cluster = Cluster::new(ClusterConfig {
        kubeconfig: Some(a.kubeconfig.clone()),
        context: None,
        ..ClusterConfig::default()
    });
    let run = run_id();
    let mut namespaces: Vec<String> = Vec::new();
    let mut results = serde_json::Map::new();
    let mut bins = vec![("kjob", a.kjob.as_str())];
    if let Some(p) = &a.pk8s {
        bins.push(("pulumi-kubernetes", p.as_str()));
    }

    eprintln!("[bench_provider] start-up x{} per provider", a.startup);
    results.insert(
        "startup".into(),
        bench_startup(&bins, &engine, a.startup).await?,
    );

    // Long-lived processes: kjob with wait on and off; pulumi-kubernetes (waits per annotation).
    let kjob_wait = spawn(&a.kjob, &engine).await?;
    let kjob_nowait = spawn(&a.kjob, &engine).await?;
    let mut kw = connect(kjob_wait.port).await?;
    let mut kn = connect(kjob_nowait.port).await?;
    configure_kjob(&mut kw, &a.kubeconfig, true).await?;
    configure_kjob(&mut kn, &a.kubeconfig, false).await?;
    let mut pk8s = None;
    if let Some(bin) = &a.pk8s {
        let plugin = spawn(bin, &engine).await?;
        let mut client = connect(plugin.port).await?;
        let schema: Value = serde_json::from_str(
            &client
                .get_schema(GetSchemaRequest::default())
                .await?
                .into_inner()
                .schema,
        )?;
        let tokens: Vec<&str> = ["Namespace", "ConfigMap", "Secret", "ServiceAccount"]
            .iter()
            .map(|k| {
                pk8s_type(match *k {
                    "Namespace" => ObjectKind::Namespace,
                    "ConfigMap" => ObjectKind::ConfigMap,
                    "Secret" => ObjectKind::Secret,
                    _ => ObjectKind::ServiceAccount,
                })
            })
            .chain([pk8s_type(ObjectKind::Job)])
            .collect();
        let missing: Vec<&&str> = tokens
            .iter()
            .filter(|t| schema["resources"].get(**t).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(format!("pulumi-kubernetes' schema lacks {missing:?}").into());
        }
        results.insert(
            "pk8s_schema".into(),
            json!({"name": schema["name"], "version": schema["version"], "resources": schema["resources"].as_object().map(serde_json::Map::len), "tokens_used": tokens}),
        );
        configure_pk8s(&mut client, &a.kubeconfig).await?;
        pk8s = Some((plugin, client));
    }

    // --- Check and Diff, per resource -----------------------------------------------------------
    eprintln!("[bench_provider] Check/Diff x{}", a.rpc);
    let name = format!("bench-{run}");
    let ns_rpc = format!("kjob-bench-rpc-{run}");
    namespaces.push(ns_rpc.clone());
    let news = kjob_inputs(&name, &ns_rpc, 1);
    let checked = check(&mut kn, KJOB_TYPE, &name, &news).await?;
    let (kid, kouts) = create(&mut kn, KJOB_TYPE, &name, &checked).await?;
    let news2 = check(&mut kn, KJOB_TYPE, &name, &kjob_inputs(&name, &ns_rpc, 2)).await?;
    let mut pk8s_live: Vec<(
        K8sResource,
        prost_types::Struct,
        String,
        prost_types::Struct,
        prost_types::Struct,
    )> = Vec::new();
    if let Some((_, client)) = pk8s.as_mut() {
        let ns_pk = format!("kjob-bench-rpc-pk-{run}");
        namespaces.push(ns_pk.clone());
        let mut set = Vec::new();
        for r in pk8s_resources(&name, &ns_pk, 1, true) {
            let c = check(client, r.ty, &r.name, &r.news).await?;
            set.push((r, c));
        }
        let created = pk8s_create_set(client, &set).await?;
        let news2: Vec<K8sResource> = pk8s_resources(&name, &ns_pk, 2, true);
        for ((r, inputs), ((id, outs), n2)) in set.into_iter().zip(created.into_iter().zip(news2)) {
            let c2 = check(client, n2.ty, &n2.name, &n2.news).await?;
            pk8s_live.push((r, inputs, id, outs, c2));
        }
    }
    let (mut t_check, mut t_diff) = (Vec::new(), Vec::new());
    let (mut p_check_job, mut p_check_set, mut p_diff_job, mut p_diff_set) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let warmup = 10;
    for i in 0..a.rpc + warmup {
        let keep = i >= warmup;
        let t = Instant::now();
        check(&mut kn, KJOB_TYPE, &name, &news).await?;
        if keep {
            t_check.push(ms(t.elapsed()));
        }
        let t = Instant::now();
        let changes = diff(&mut kn, KJOB_TYPE, &name, &kid, &kouts, &checked, &news2).await?;
        if keep {
            t_diff.push(ms(t.elapsed()));
        }
        assert_eq!(
            changes,
            DiffChanges::DiffSome as i32,
            "parallelism 1 -> 2 is a change"
        );
        if let Some((_, client)) = pk8s.as_mut() {
            let mut set_check = 0.0;
            let mut set_diff = 0.0;
            for (r, inputs, id, outs, news2) in &pk8s_live {
                let t = Instant::now();
                check(client, r.ty, &r.name, &r.news).await?;
                let dt = ms(t.elapsed());
                set_check += dt;
                if keep && r.ty == pk8s_type(ObjectKind::Job) {
                    p_check_job.push(dt);
                }
                let t = Instant::now();
                let changes = diff(client, r.ty, &r.name, id, outs, inputs, news2).await?;
                let dt = ms(t.elapsed());
                set_diff += dt;
                if keep && r.ty == pk8s_type(ObjectKind::Job) {
                    p_diff_job.push(dt);
                    assert_eq!(
                        changes,
                        DiffChanges::DiffSome as i32,
                        "pulumi-kubernetes sees the parallelism change"
                    );
                }
            }
            if keep {
                p_check_set.push(set_check);
                p_diff_set.push(set_diff);
            }
        }
    }
    let mut rpc = json!({
        "kjob": {"check": stats(&t_check), "diff": stats(&t_diff)},
        "what": "kjob: one KubernetesJob (5 objects). pulumi-kubernetes: the Job resource alone, and the set of 5 resources (namespace, configmap, secret, serviceaccount, job) called one after another. Diff: parallelism 1 -> 2 against a live resource.",
    });
    if !p_check_job.is_empty() {
        rpc["pulumi-kubernetes"] = json!({
            "check_job": stats(&p_check_job), "check_set": stats(&p_check_set),
            "diff_job": stats(&p_diff_job), "diff_set": stats(&p_diff_set),
        });
    }
    results.insert("rpc".into(), rpc);
    eprintln!(
        "[bench_provider] in-process Check, with and without TCP_NODELAY x{}",
        a.rpc
    );
    results.insert(
        "diagnostic_inprocess_check".into(),
        bench_nodelay(a.rpc, &a.kubeconfig).await?,
    );

    // --- Create ---------------------------------------------------------------------------------
    eprintln!("[bench_provider] Create x{} per variant", a.create);
    let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for round in 0..a.create + 1 {
        for wait in [false, true] {
            let mode = if wait { "wait" } else { "nowait" };
            // kjob over gRPC
            let name = format!("cr-{run}-{round}-{mode}");
            let ns = format!("kjob-bench-k-{run}-{round}-{mode}");
            namespaces.push(ns.clone());
            let client = if wait { &mut kw } else { &mut kn };
            let props = check(client, KJOB_TYPE, &name, &kjob_inputs(&name, &ns, 1)).await?;
            let t = Instant::now();
            let (_, outs) = create(client, KJOB_TYPE, &name, &props).await?;
            let dt = ms(t.elapsed());
            let status = from_struct(&outs)["jobStatus"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if wait {
                assert_eq!(status, "Complete", "waiting on: the Job finished");
            }
            if round > 0 {
                samples.entry(format!("{mode}/kjob")).or_default().push(dt);
            }
            // floor
            let ns = format!("kjob-bench-f-{run}-{round}-{mode}");
            namespaces.push(ns.clone());
            let t = Instant::now();
            floor_create(&cluster, &name, &ns, wait).await?;
            if round > 0 {
                samples
                    .entry(format!("{mode}/floor"))
                    .or_default()
                    .push(ms(t.elapsed()));
            }
            // pulumi-kubernetes
            if let Some((_, client)) = pk8s.as_mut() {
                let ns = format!("kjob-bench-p-{run}-{round}-{mode}");
                namespaces.push(ns.clone());
                let mut set = Vec::new();
                for r in pk8s_resources(&name, &ns, 1, !wait) {
                    let c = check(client, r.ty, &r.name, &r.news).await?;
                    set.push((r, c));
                }
                let t = Instant::now();
                pk8s_create_set(client, &set).await?;
                if round > 0 {
                    samples
                        .entry(format!("{mode}/pulumi-kubernetes"))
                        .or_default()
                        .push(ms(t.elapsed()));
                }
            }
        }
    }
    let mut create_out = serde_json::Map::new();
    for mode in ["nowait", "wait"] {
        let mut m = serde_json::Map::new();
        for who in ["kjob", "floor", "pulumi-kubernetes"] {
            if let Some(s) = samples.get(&format!("{mode}/{who}")) {
                m.insert(who.into(), stats(s));
            }
        }
        let k = m["kjob"].clone();
        m.insert("kjob_over_floor".into(), json!({"median": ratio(&k, &m["floor"], "median"), "p95": ratio(&k, &m["floor"], "p95")}));
        if let Some(p) = m.get("pulumi-kubernetes").cloned() {
            m.insert(
                "kjob_over_pulumi_kubernetes".into(),
                json!({"median": ratio(&k, &p, "median"), "p95": ratio(&k, &p, "p95")}),
            );
            m.insert(
                "pulumi_kubernetes_over_floor".into(),
                json!({"median": ratio(&p, &m["floor"], "median")}),
            );
        }
        create_out.insert(mode.into(), Value::Object(m));
    }
    create_out.insert(
        "what".into(),
        json!("One KubernetesJob = Namespace + ConfigMap + Secret + ServiceAccount + Job. kjob: one Create RPC (provider config wait false / true). floor: Cluster::apply of the same 5 rendered objects, in order (+ a watch until the Job is Complete when waiting). pulumi-kubernetes: 5 Create RPCs of the same objects, namespace first, then configmap/secret/serviceaccount concurrently, then the Job (pulumi.com/skipAwait: \"true\" on every object when waiting is off)."),
    );
    results.insert("create".into(), Value::Object(create_out));

    // --- Memory after the work ------------------------------------------------------------------
    let mut mem = serde_json::Map::new();
    for (label, plugin) in [("kjob (wait)", &kjob_wait), ("kjob (nowait)", &kjob_nowait)] {
        if let Some(pid) = plugin.child.id() {
            mem.insert(label.into(), json!({"rss_mib": proc_status_kib(pid, "VmRSS:").map(|k| k as f64 / 1024.0), "peak_rss_mib": proc_status_kib(pid, "VmHWM:").map(|k| k as f64 / 1024.0)}));
        }
    }
    if let Some((plugin, _)) = &pk8s
        && let Some(pid) = plugin.child.id()
    {
        mem.insert("pulumi-kubernetes".into(), json!({"rss_mib": proc_status_kib(pid, "VmRSS:").map(|k| k as f64 / 1024.0), "peak_rss_mib": proc_status_kib(pid, "VmHWM:").map(|k| k as f64 / 1024.0)}));
    }
    results.insert("memory_after_work".into(), Value::Object(mem));
    results.insert(
        "engine_log_messages".into(),
        json!(engine_logs.load(Ordering::Relaxed)),
    );
    results.insert("settings".into(), json!({"startup_n": a.startup, "rpc_n": a.rpc, "rpc_warmup": warmup, "create_n": a.create, "create_warmup": 1}));

    stop(kjob_wait).await;
    stop(kjob_nowait).await;
    if let Some((plugin, _)) = pk8s {
        stop(plugin).await;
    }
    // Clean up: delete every namespace this run made (the namespace controller removes the rest).
    for ns in &namespaces {
        let _ = cluster
            .delete(
                &ObjectRef {
                    kind: ObjectKind::Namespace,
                    namespace: None,
                    name: ns.clone(),
                },
                None,
                None,
            )
            .await;
    }

    let text = serde_json::to_string_pretty(&Value::Object(results))?;
    match &a.out {
        Some(path) => std::fs::write(path, text + "\n")?,
        None => println!("{text}"),
    }
    Ok(())
}
