//! Faults on a test bed of its own: the kube-apiserver is stopped while the provider creates,
//! updates and deletes KubernetesJobs, then started again.
//!
//! This file brings up a SECOND test bed ([`common::bed::Bed`]: its own run dir and ports), so
//! stopping its API server does not disturb the other tests; dropping it brings it down, also when
//! the test fails. The provider's gRPC service runs in-process and is driven as the engine drives
//! it.
//!
//! Four outages, each hitting several RPCs at once:
//! 1. short, before the RPCs (Create, Update, Delete start while the server is down and it comes
//!    back ~3 s later): the client's retries carry every call through;
//! 2. long, before the RPCs (the server stays down past the retry budget): every call fails,
//!    with a partial failure where something is in state; after a restart the re-run (as the
//!    engine would do it: Create again, Update from the partial outputs, Delete again) converges,
//!    and a destroy straight after a failed Update leaves nothing behind either;
//! 3. long, in the middle (a Create that is waiting for its Job, a Delete that has deleted the
//!    Job and is removing the rest): both fail, the re-runs converge;
//! 4. short, in the middle: both succeed.
//!
//! After every re-run the objects carrying our ownership labels are counted cluster-wide: the
//! rendered set exactly (nothing stale left by a half-done update), and zero after the delete.

use crate::common;

use std::time::{Duration, Instant};

use common::bed::Bed;
use common::provider::{Failure, Partial, Provider};
use kjob::cluster::Cluster;
use kjob::core::objects::ObjectKind;
use serde_json::{Value, json};

/// Longest any one RPC may take here (a call's deadline is 30 s; a namespace delete ~10 s).
const RPC_LIMIT: Duration = Duration::from_secs(150);

/// The provider in-process, configured for the bed's cluster.
async fn provider(kubeconfig: &str) -> Provider {
    Provider::start_on(kubeconfig, json!({}))
        .await
        .with_stack("faults")
}

/// One KubernetesJob resource as the engine tracks it.
#[derive(Clone)]
struct Res {
    p: Provider,
    name: String,
    ns: String,
    /// Checked inputs of the desired state.
    inputs: Value,
    /// The outputs in state (None: not in state).
    outputs: Option<Value>,
}

impl Res {
    async fn new(p: &Provider, prefix: &str, extra: Value) -> Res {
        let name = common::unique(prefix);
        let ns = common::unique(&format!("{prefix}-ns"));
        let mut res = Res {
            p: p.clone(),
            name,
            ns,
            inputs: Value::Null,
            outputs: None,
        };
        res.set_inputs(extra).await;
        res
    }

    /// Checks new desired inputs: the fixed base plus `extra` spec fields.
    async fn set_inputs(&mut self, extra: Value) {
        let mut spec = json!({
            "namespace": {"value": self.ns}, "createNamespace": true,
            "image": {"repo": "busybox", "tag": "1.36"}, "command": ["true"],
            "env": {"secrets": {"TOKEN": {"value": "faults-secret"}}},
            "configMaps": {"a": "1", "b": "2"}
        });
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        self.inputs = self.p.check_ok(&self.name, &json!({"spec": spec})).await;
    }

    fn id(&self) -> String {
        format!("{}/{}", self.ns, self.name)
    }

    async fn create(&mut self) -> Result<(), Failure> {
        let t = Instant::now();
        let call = self.p.create(&self.name, &self.inputs, 120.0);
        let result = tokio::time::timeout(RPC_LIMIT, call)
            .await
            .expect("Create returns in time");
        eprintln!(
            "faults:   Create {} -> {} in {:.1}s",
            self.name,
            if result.is_ok() { "ok" } else { "error" },
            t.elapsed().as_secs_f64()
        );
        match result {
            Ok((id, outputs)) => {
                assert_eq!(id, self.id());
                self.outputs = Some(outputs);
                Ok(())
            }
            Err(f) => {
                if let Failure::Partial(Partial { outputs, .. }) = &f {
                    self.outputs = Some(outputs.clone());
                }
                Err(f)
            }
        }
    }

    async fn update(&mut self) -> Result<(), Failure> {
        let olds = self
            .outputs
            .clone()
            .expect("update needs a resource in state");
        let t = Instant::now();
        let id = self.id();
        let call = self.p.update(&self.name, &id, &olds, &self.inputs, 120.0);
        let result = tokio::time::timeout(RPC_LIMIT, call)
            .await
            .expect("Update returns in time");
        eprintln!(
            "faults:   Update {} -> {} in {:.1}s",
            self.name,
            if result.is_ok() { "ok" } else { "error" },
            t.elapsed().as_secs_f64()
        );
        match result {
            Ok(outputs) => {
                self.outputs = Some(outputs);
                Ok(())
            }
            Err(f) => {
                if let Failure::Partial(Partial { outputs, .. }) = &f {
                    self.outputs = Some(outputs.clone());
                }
                Err(f)
            }
        }
    }

    async fn delete(&mut self) -> Result<(), Failure> {
        let olds = self
            .outputs
            .clone()
            .expect("delete needs a resource in state");
        let t = Instant::now();
        let id = self.id();
        let call = self.p.delete(&self.name, &id, &olds);
        let result = tokio::time::timeout(RPC_LIMIT, call)
            .await
            .expect("Delete returns in time");
        eprintln!(
            "faults:   Delete {} -> {} in {:.1}s",
            self.name,
            if result.is_ok() { "ok" } else { "error" },
            t.elapsed().as_secs_f64()
        );
        match result {
            Ok(()) => {
                self.outputs = None;
                Ok(())
            }
            Err(f) => Err(f),
        }
    }

    fn job_status(&self) -> String {
        self.outputs
            .as_ref()
            .and_then(|o| o["jobStatus"].as_str())
            .unwrap_or_default()
            .to_owned()
    }
}

/// Objects carrying the ownership labels of `owner`, cluster-wide, by kind (names sorted).
async fn owned(cluster: &Cluster, owner: &str) -> Vec<(ObjectKind, Vec<String>)> {
    let mut out = Vec::new();
    for kind in [
        ObjectKind::Namespace,
        ObjectKind::ConfigMap,
        ObjectKind::Secret,
        ObjectKind::ServiceAccount,
        ObjectKind::Job,
    ] {
        let mut names: Vec<String> = cluster
            .list_labelled(kind, None, &common::named(owner))
            .await
            .expect("the test bed answers")
            .iter()
            .map(|o| {
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        names.sort();
        out.push((kind, names));
    }
    out
}

/// Exactly the objects a resource with configMaps `maps` renders, and nothing else.
#[track_caller]
fn assert_deployed(counts: &[(ObjectKind, Vec<String>)], res: &Res, maps: &[&str]) {
    let expected = vec![
        (ObjectKind::Namespace, vec![res.ns.clone()]),
        (
            ObjectKind::ConfigMap,
            maps.iter().map(ToString::to_string).collect(),
        ),
        (
            ObjectKind::Secret,
            vec![format!("{}-env-secrets", res.name)],
        ),
        (ObjectKind::ServiceAccount, vec![res.name.clone()]),
        (ObjectKind::Job, vec![res.name.clone()]),
    ];
    assert_eq!(
        counts,
        expected.as_slice(),
        "the objects of {} are exactly the rendered ones",
        res.name
    );
}

#[track_caller]
fn assert_none(counts: &[(ObjectKind, Vec<String>)], res: &Res) {
    assert!(
        counts.iter().all(|(_, names)| names.is_empty()),
        "objects of {} are left after delete: {counts:?}",
        res.name
    );
}

async fn job_uid(cluster: &Cluster, res: &Res) -> Option<String> {
    common::get(cluster, ObjectKind::Job, Some(&res.ns), &res.name)
        .await
        .map(|j| j["metadata"]["uid"].as_str().unwrap_or_default().to_owned())
}

/// Polls the bed until `f` holds (at most 60 s).
async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apiserver_outages_during_create_update_delete_then_reruns_converge() {
    kjob::logging::init();
    let bed = Bed::up();
    let cluster = bed.cluster();
    let p = provider(&bed.kubeconfig()).await;
    let started = Instant::now();
    // The update every Update case makes: ConfigMap `a` changes, `b` goes, `c` comes, and
    // parallelism changes in place.
    let edit = json!({"configMaps": {"a": "3", "c": "4"}, "parallelism": 2});

    // ---- 1. A short outage before the RPCs: the retries carry Create, Update and Delete through.
    let mut x1 = Res::new(&p, "f1c", json!({})).await;
    let mut y1 = Res::new(&p, "f1u", json!({})).await;
    let mut z1 = Res::new(&p, "f1d", json!({})).await;
    let (a, b) = tokio::join!(y1.create(), z1.create());
    a.expect("create y1");
    b.expect("create z1");
    let y1_uid = job_uid(&cluster, &y1).await;
    y1.set_inputs(edit.clone()).await;
    bed.stop_apiserver(true).await;
    let t = Instant::now();
    let restart = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        bed.start_apiserver().await;
    };
    let z1_outputs = z1.outputs.clone();
    let (cx, uy, dz, ()) = tokio::join!(x1.create(), y1.update(), z1.delete(), restart);
    eprintln!(
        "faults 1: Create/Update/Delete through a short outage in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    cx.expect("Create survives a short outage");
    uy.expect("Update survives a short outage");
    dz.expect("Delete survives a short outage");
    assert_eq!(x1.job_status(), "Complete");
    assert_eq!(y1.job_status(), "Complete");
    assert_deployed(&owned(&cluster, &x1.name).await, &x1, &["a", "b"]);
    assert_deployed(&owned(&cluster, &y1.name).await, &y1, &["a", "c"]);
    assert_eq!(
        job_uid(&cluster, &y1).await,
        y1_uid,
        "the update was in place"
    );
    assert_none(&owned(&cluster, &z1.name).await, &z1);
    // Re-runs converge to the same objects: x1 and y1 updated with the same inputs, z1 deleted again.
    let x1_uid = job_uid(&cluster, &x1).await;
    let (a, b) = tokio::join!(x1.update(), y1.update());
    a.expect("re-run x1");
    b.expect("re-run y1");
    z1.outputs = z1_outputs;
    z1.delete()
        .await
        .expect("a second Delete of what is gone succeeds");
    assert_eq!(job_uid(&cluster, &x1).await, x1_uid);
    assert_deployed(&owned(&cluster, &x1.name).await, &x1, &["a", "b"]);
    assert_deployed(&owned(&cluster, &y1.name).await, &y1, &["a", "c"]);
    assert_none(&owned(&cluster, &z1.name).await, &z1);

    // ---- 2. A long outage before the RPCs (graceful stop): every call fails; re-runs converge.
    let mut x2 = Res::new(&p, "f2c", json!({})).await;
    let mut y2 = Res::new(&p, "f2u", json!({})).await;
    let mut z2 = Res::new(&p, "f2d", json!({})).await;
    // v2 is destroyed right after its failed update, without a successful re-run in between.
    let mut v2 = Res::new(&p, "f2v", json!({})).await;
    let (a, b, c) = tokio::join!(y2.create(), z2.create(), v2.create());
    a.expect("create y2");
    b.expect("create z2");
    c.expect("create v2");
    y2.set_inputs(edit.clone()).await;
    v2.set_inputs(edit.clone()).await;
    bed.stop_apiserver(false).await;
    let t = Instant::now();
    let (cx, uy, dz, uv) = tokio::join!(x2.create(), y2.update(), z2.delete(), v2.update());
    eprintln!(
        "faults 2: Create/Update/Delete failed after {:.1}s of outage",
        t.elapsed().as_secs_f64()
    );
    match cx.expect_err("Create cannot succeed without an API server") {
        Failure::Plain { message: m, .. } => assert!(m.contains("creating KubernetesJob"), "{m}"),
        Failure::Partial(Partial { message, .. }) => {
            panic!("nothing was applied, so nothing is in state: {message}")
        }
    }
    assert!(x2.outputs.is_none());
    match uy.expect_err("Update cannot succeed without an API server") {
        Failure::Partial(Partial {
            message, outputs, ..
        }) => {
            assert!(message.contains("updating KubernetesJob"), "{message}");
            assert_eq!(outputs["jobStatus"], "Unknown", "{outputs}");
        }
        Failure::Plain { message: m, .. } => {
            panic!("a failed Update keeps the resource in state as a partial failure: {m}")
        }
    }
    assert!(
        matches!(dz.expect_err("Delete cannot succeed without an API server"), Failure::Plain { message: m, .. } if m.contains("deleting KubernetesJob"))
    );
    assert!(matches!(uv, Err(Failure::Partial(_))), "{uv:?}");
    bed.start_apiserver().await;
    // The engine's re-runs: Create again (nothing in state), Update from the partial outputs it
    // recorded (an update with init errors is retried), Delete again (still in state); and v2's
    // destroy from the partial outputs (which name ConfigMaps a and c, while b is still there).
    let (cx, uy, dz, dv) = tokio::join!(x2.create(), y2.update(), z2.delete(), v2.delete());
    cx.expect("Create re-run");
    uy.expect("Update re-run");
    dz.expect("Delete re-run");
    dv.expect("Delete after a failed Update");
    assert_deployed(&owned(&cluster, &x2.name).await, &x2, &["a", "b"]);
    assert_deployed(&owned(&cluster, &y2.name).await, &y2, &["a", "c"]);
    assert_none(&owned(&cluster, &z2.name).await, &z2);
    assert_none(&owned(&cluster, &v2.name).await, &v2);

    // ---- 3. A long outage in the middle: a Create waiting for its Job (6 pods, one at a time) and
    // a Delete that has deleted the Job and goes on with the rest.
    let slow = json!({"completions": 6, "parallelism": 1});
    let mut x3 = Res::new(&p, "f3c", slow.clone()).await;
    let mut z3 = Res::new(&p, "f3d", json!({})).await;
    z3.create().await.expect("create z3");
    let t = Instant::now();
    let outage = async {
        until("x3's Job to exist and z3's Job to be gone", || async {
            job_uid(&cluster, &x3).await.is_some() && job_uid(&cluster, &z3).await.is_none()
        })
        .await;
        bed.stop_apiserver(true).await;
    };
    let mut x3c = x3.clone();
    let mut z3c = z3.clone();
    let (cx, dz, ()) = tokio::join!(x3c.create(), z3c.delete(), outage);
    eprintln!(
        "faults 3: mid-RPC Create/Delete failed after {:.1}s",
        t.elapsed().as_secs_f64()
    );
    x3 = x3c;
    match cx.expect_err("the wait cannot succeed without an API server") {
        Failure::Partial(Partial {
            message, outputs, ..
        }) => {
            assert!(message.contains("creating KubernetesJob"), "{message}");
            assert_eq!(outputs["jobStatus"], "Unknown");
        }
        Failure::Plain { message: m, .. } => panic!(
            "the objects were applied: the failure must be partial, to keep them in state: {m}"
        ),
    }
    dz.expect_err("Delete cannot finish without an API server");
    bed.start_apiserver().await;
    // The engine retries an Update for a resource with init errors; Delete is re-run.
    x3.update().await.expect("the Create's re-run converges");
    assert_eq!(x3.job_status(), "Complete");
    z3.delete().await.expect("the Delete's re-run converges");
    assert_deployed(&owned(&cluster, &x3.name).await, &x3, &["a", "b"]);
    assert_none(&owned(&cluster, &z3.name).await, &z3);

    // ---- 4. A short outage in the middle: both calls ride it out.
    let mut x4 = Res::new(&p, "f4c", slow.clone()).await;
    let mut z4 = Res::new(&p, "f4d", json!({})).await;
    z4.create().await.expect("create z4");
    let t = Instant::now();
    let outage = async {
        until("x4's Job to exist and z4's Job to be gone", || async {
            job_uid(&cluster, &x4).await.is_some() && job_uid(&cluster, &z4).await.is_none()
        })
        .await;
        bed.stop_apiserver(true).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        bed.start_apiserver().await;
    };
    let mut x4c = x4.clone();
    let mut z4c = z4.clone();
    let (cx, dz, ()) = tokio::join!(x4c.create(), z4c.delete(), outage);
    eprintln!(
        "faults 4: mid-RPC Create/Delete through a short outage in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    x4 = x4c;
    cx.expect("Create rides out a short outage while waiting");
    assert_eq!(x4.job_status(), "Complete");
    dz.expect("Delete rides out a short outage");
    assert_deployed(&owned(&cluster, &x4.name).await, &x4, &["a", "b"]);
    assert_none(&owned(&cluster, &z4.name).await, &z4);

    // ---- Down: everything still in state is deleted, and nothing with our labels is left.
    let mut rest = [x1, y1, x2, y2, x3, x4];
    let deletes = rest.iter_mut().map(|r| async move {
        r.delete()
            .await
            .unwrap_or_else(|e| panic!("delete {}: {e:?}", r.name));
    });
    futures::future::join_all(deletes).await;
    for r in &rest {
        assert_none(&owned(&cluster, &r.name).await, r);
    }
    eprintln!(
        "faults: all four outages in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    drop(bed);
}
