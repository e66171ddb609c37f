//! Outages at the hard moments of the one deploy path (`deploy::apply`, `deploy::delete`),
//! triggered at the exact moment by kjob's own progress callbacks: the API server goes silent
//! (the loopback proxy of `common::proxy` black-holes it) between two object applies of a
//! Create, in the middle of an Update (between applies, and after the Job before the prune), and
//! during a Delete while the Job still exists. Each call fails within its deadline as a partial
//! failure; once the server answers again the re-run, as the engine makes it (Create again with
//! nothing recorded, Update from what the partial failure says is owned, Delete again), converges:
//! the objects carrying kjob's managed-by label in the namespace are exactly the rendered set,
//! and none after the delete.

use crate::common;

use std::time::{Duration, Instant};

use common::proxy::{Mode, Proxy};
use kjob::cluster::{Cluster, ClusterConfig, Deadlines};
use kjob::core::objects::{ObjectKind, ObjectRef};
use kjob::core::path::PropertyPath;
use kjob::deploy::{self, Observer, PartialFailure, Quiet, Takeover};
use kjob::kinds::Rendered;
use kjob::kinds::job::render::RenderOptions;
use serde_json::{Value, json};

const SHORT: Deadlines = Deadlines {
    request: Duration::from_secs(2),
    call: Duration::from_secs(4),
};

/// How long a failing deploy call may take: one call's deadline, plus slack.
const FAIL_LIMIT: Duration = Duration::from_secs(7);

fn rendered(name: &str, ns: &str, spec: Value) -> Rendered {
    let doc = common::manifest(name, ns, spec);
    let checked = kjob::kinds::Kind::KubernetesJob.check(&doc, &PropertyPath::root(), None, &[]);
    assert!(checked.is_ok(), "{:?}", checked.failures);
    checked.render(&RenderOptions::default()).expect("renders")
}

/// The (kind, name) pairs of the rendered objects in the namespace, as `common::labelled`
/// lists them.
fn expected(r: &Rendered) -> Vec<(ObjectKind, String)> {
    let order = [
        ObjectKind::ConfigMap,
        ObjectKind::Secret,
        ObjectKind::ServiceAccount,
        ObjectKind::Job,
    ];
    let mut out: Vec<(ObjectKind, String)> = r
        .objects
        .iter()
        .filter(|o| order.contains(&o.id.kind))
        .map(|o| (o.id.kind, o.id.name.clone()))
        .collect();
    out.sort_by_key(|(k, n)| (order.iter().position(|o| o == k), n.clone()));
    out
}

/// Black-holes the proxy right after the object `at` is applied.
struct SilenceAfter<'a> {
    proxy: &'a Proxy,
    at: ObjectRef,
    applied: Vec<ObjectRef>,
}

impl Observer for SilenceAfter<'_> {
    fn applied(&mut self, object: &ObjectRef) {
        self.applied.push(object.clone());
        if *object == self.at {
            self.proxy.set(Mode::BlackHole);
        }
    }
}

struct Setup {
    direct: Cluster,
    proxied: Cluster,
    proxy: Proxy,
    ns: String,
    _dir: tempfile::TempDir,
}

async fn setup(prefix: &str) -> Setup {
    let direct = common::cluster();
    let ns = common::namespace(&direct, prefix).await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::in_front_of(&common::kubeconfig()).await;
    let proxied = Cluster::new(ClusterConfig {
        kubeconfig: Some(
            proxy
                .kubeconfig(&common::kubeconfig(), dir.path())
                .to_string_lossy()
                .into_owned(),
        ),
        deadlines: SHORT,
        ..ClusterConfig::default()
    });
    Setup {
        direct,
        proxied,
        proxy,
        ns,
        _dir: dir,
    }
}

#[track_caller]
fn assert_silence(failure: &PartialFailure, took: Duration) {
    let text = failure.to_string();
    assert!(text.contains("no answer within 4s"), "{text}");
    assert!(took <= FAIL_LIMIT, "failed within the deadline: {took:?}");
}

fn cm(ns: &str, name: &str) -> ObjectRef {
    common::obj(ObjectKind::ConfigMap, Some(ns), name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_between_two_applies_of_a_create_then_create_again_converges() {
    let s = setup("out-create").await;
    let name = common::unique("oc");
    let r = rendered(
        &name,
        &s.ns,
        json!({"configMaps": {"a": "1", "b": "2"}, "env": {"secrets": {"T": {"value": "x"}}}}),
    );
    let mut observer = SilenceAfter {
        proxy: &s.proxy,
        at: cm(&s.ns, "a"),
        applied: Vec::new(),
    };
    let t = Instant::now();
    let failure = deploy::apply(
        &s.proxied,
        &r,
        &[],
        &[],
        Takeover::default(),
        &mut observer,
        &Default::default(),
    )
    .await
    .expect_err("the server went silent after ConfigMap a");
    assert_silence(&failure, t.elapsed());
    assert!(
        failure
            .to_string()
            .contains(&format!("ConfigMap {}/b", s.ns)),
        "names the next object: {failure}"
    );
    assert_eq!(failure.owned, [cm(&s.ns, "a")], "reports what exists");
    assert_eq!(
        common::labelled(&s.direct, &s.ns).await,
        [(ObjectKind::ConfigMap, "a".to_owned())],
        "the Create stopped between two applies"
    );

    s.proxy.set(Mode::Pass);
    // The engine creates again with nothing recorded; the leftover is found by its labels.
    let owned = deploy::apply(
        &s.proxied,
        &r,
        &[],
        &[],
        Takeover::default(),
        &mut Quiet,
        &Default::default(),
    )
    .await
    .expect("Create again converges");
    assert_eq!(owned, r.ids());
    assert_eq!(common::labelled(&s.direct, &s.ns).await, expected(&r));

    deploy::delete(&s.direct, &owned, &r.owner, &mut Quiet, &Default::default())
        .await
        .expect("delete");
    assert_eq!(common::labelled(&s.direct, &s.ns).await, []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_during_an_update_then_updates_from_the_partial_state_converge() {
    let s = setup("out-update").await;
    let name = common::unique("ou");
    let v1 = rendered(
        &name,
        &s.ns,
        json!({"configMaps": {"a": "1", "b": "2"}, "suspend": true}),
    );
    let v2 = rendered(
        &name,
        &s.ns,
        json!({"configMaps": {"a": "3", "c": "4"}, "parallelism": 2, "suspend": true}),
    );
    let job = common::obj(ObjectKind::Job, Some(&s.ns), &name);
    // Two moments: between two applies (after ConfigMap c, before the Job), and after the last
    // apply, before ConfigMap b is pruned.
    for at in [cm(&s.ns, "c"), job.clone()] {
        let owned = deploy::apply(
            &s.direct,
            &v1,
            &[],
            &[],
            Takeover::default(),
            &mut Quiet,
            &Default::default(),
        )
        .await
        .expect("v1");
        assert_eq!(common::labelled(&s.direct, &s.ns).await, expected(&v1));
        let uid = common::get(&s.direct, ObjectKind::Job, Some(&s.ns), &name)
            .await
            .expect("the Job")["metadata"]["uid"]
            .clone();

        let mut observer = SilenceAfter {
            proxy: &s.proxy,
            at: at.clone(),
            applied: Vec::new(),
        };
        let t = Instant::now();
        let failure = deploy::apply(
            &s.proxied,
            &v2,
            &owned,
            &[],
            Takeover::default(),
            &mut observer,
            &Default::default(),
        )
        .await
        .expect_err("the server went silent in the middle of the update");
        assert_silence(&failure, t.elapsed());
        assert!(
            failure.owned.contains(&at),
            "what was applied is reported: {:?}",
            failure.owned
        );
        let live = common::labelled(&s.direct, &s.ns).await;
        assert!(
            live.contains(&(ObjectKind::ConfigMap, "b".to_owned())),
            "b was not pruned yet: {live:?}"
        );

        s.proxy.set(Mode::Pass);
        // The engine's retry of the Update knows only what the partial failure reported.
        deploy::apply(
            &s.proxied,
            &v2,
            &failure.owned,
            &[],
            Takeover::default(),
            &mut Quiet,
            &Default::default(),
        )
        .await
        .expect("the Update's re-run converges");
        assert_eq!(
            common::labelled(&s.direct, &s.ns).await,
            expected(&v2),
            "exactly v2's objects after an outage after {at}"
        );
        let live_job = common::get(&s.direct, ObjectKind::Job, Some(&s.ns), &name)
            .await
            .expect("the Job");
        assert_eq!(live_job["metadata"]["uid"], uid, "updated in place");
        assert_eq!(live_job["spec"]["parallelism"], 2);

        deploy::delete(
            &s.direct,
            &v2.ids(),
            &v2.owner,
            &mut Quiet,
            &Default::default(),
        )
        .await
        .expect("delete");
        assert_eq!(common::labelled(&s.direct, &s.ns).await, []);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_during_a_delete_while_the_job_exists_then_delete_again_converges() {
    let s = setup("out-delete").await;
    let name = common::unique("od");
    let r = rendered(
        &name,
        &s.ns,
        json!({"configMaps": {"a": "1"}, "env": {"secrets": {"T": {"value": "x"}}}}),
    );
    let owned = deploy::apply(
        &s.direct,
        &r,
        &[],
        &[],
        Takeover::default(),
        &mut Quiet,
        &Default::default(),
    )
    .await
    .expect("apply");
    // A finalizer of the test's keeps the Job in place after its delete until the test lets go,
    // so the outage hits while the Job still exists (deleting).
    let job = common::obj(ObjectKind::Job, Some(&s.ns), &name);
    let hold = |finalizers: Value| {
        json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": s.ns, "finalizers": finalizers}})
    };
    let holder = s.direct.client().await.unwrap();
    let jobs: kube::Api<k8s_openapi::api::batch::v1::Job> = kube::Api::namespaced(holder, &s.ns);
    let patch = kube::api::PatchParams::apply("kjob-test-hold");
    jobs.patch(
        &name,
        &patch,
        &kube::api::Patch::Apply(hold(json!(["kjob.test/hold"]))),
    )
    .await
    .expect("hold the Job");

    let silence = async {
        common::eventually(
            "the Job to be deleting",
            Duration::from_secs(30),
            || async {
                common::get(&s.direct, ObjectKind::Job, Some(&s.ns), &name)
                    .await
                    .filter(|j| !j["metadata"]["deletionTimestamp"].is_null())
            },
        )
        .await;
        s.proxy.set(Mode::BlackHole);
    };
    let t = Instant::now();
    let mut quiet = Quiet;
    let never = tokio_util::sync::CancellationToken::new();
    let (result, ()) = tokio::join!(
        deploy::delete(&s.proxied, &owned, &r.owner, &mut quiet, &never),
        silence
    );
    let failure = result.expect_err("the server went silent while the Job was deleting");
    assert_silence(&failure, t.elapsed());
    assert!(
        failure.owned.contains(&job),
        "the Job is still owned: {:?}",
        failure.owned
    );
    assert!(
        common::labelled(&s.direct, &s.ns)
            .await
            .contains(&(ObjectKind::Job, name.clone())),
        "the Job still exists"
    );

    s.proxy.set(Mode::Pass);
    // The engine deletes again with the same state; the test lets the Job go a moment later.
    let release = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        jobs.patch(&name, &patch, &kube::api::Patch::Apply(hold(json!([]))))
            .await
            .expect("release the Job");
    };
    let never = tokio_util::sync::CancellationToken::new();
    let (again, ()) = tokio::join!(
        deploy::delete(&s.proxied, &owned, &r.owner, &mut quiet, &never),
        release
    );
    again.expect("Delete again converges");
    assert_eq!(common::labelled(&s.direct, &s.ns).await, []);
}
