//! How many API requests one apply makes, counted by a layer in front of the client: a
//! converged resource is applied again without the label-selector LISTs that look for
//! leftovers (they run only after a failed run or when the rendered set shrank), and the owner
//! check still refuses an existing object that is not ours.

use crate::common;

use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ConfigMap;
use kjob::cluster::{Cluster, ClusterError, RetryPolicy};
use kjob::core::objects::{ObjectKind, ObjectRef};
use kjob::core::owner::{Owner, Ownership, ownership};
use kjob::core::path::PropertyPath;
use kjob::deploy::{self, Quiet, Sweep, Takeover};
use kjob::kinds::Rendered;
use kjob::kinds::job::render::RenderOptions;
use serde_json::{Value, json};

/// A client that records the method and path of every request it sends.
pub async fn counted() -> (Cluster, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kubeconfig = kube::config::Kubeconfig::read_from(common::kubeconfig()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let log = seen.clone();
    let layer = tower::util::MapRequestLayer::new(move |req: http::Request<kube::client::Body>| {
        let query = req.uri().query().unwrap_or_default();
        let line = format!("{} {}?{query}", req.method(), req.uri().path());
        log.lock().unwrap().push(line);
        req
    });
    let client = kube::client::ClientBuilder::try_from(config)
        .unwrap()
        .with_layer(&layer)
        .build();
    (Cluster::from_client(client, RetryPolicy::default()), seen)
}

fn rendered(name: &str, ns: &str, spec: Value) -> Rendered {
    let doc = common::manifest(name, ns, spec);
    let checked = kjob::kinds::Kind::KubernetesJob.check(&doc, &PropertyPath::root(), None, &[]);
    assert!(checked.is_ok(), "{:?}", checked.failures);
    checked.render(&RenderOptions::default()).expect("renders")
}

fn lists(seen: &[String]) -> usize {
    seen.iter()
        .filter(|l| l.starts_with("GET ") && l.contains("labelSelector"))
        .count()
}

/// A counted client, a fresh namespace, a unique name and a KubernetesJob rendered with a
/// ConfigMap and a secret (every kind a KubernetesJob renders in its namespace).
async fn setup(
    prefix: &str,
    short: &str,
) -> (Cluster, Arc<Mutex<Vec<String>>>, String, String, Rendered) {
    let (cluster, seen) = counted().await;
    let ns = common::namespace(&common::cluster(), prefix).await;
    let name = common::unique(short);
    let spec = json!({"configMaps": {"a": "1"}, "env": {"secrets": {"T": {"value": "x"}}}});
    let r = rendered(&name, &ns, spec);
    (cluster, seen, ns, name, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converged_apply_skips_the_leftover_lists_and_still_refuses_foreign_objects() {
    let (cluster, seen, ns, name, r) = setup("requests", "rq").await;
    let run = |previous: Vec<_>, sweep| {
        let (cluster, r) = (&cluster, &r);
        async move {
            let cancel = Default::default();
            deploy::apply_with(
                cluster,
                r,
                &previous,
                &[],
                Takeover::default(),
                sweep,
                &mut Quiet,
                &cancel,
            )
            .await
        }
    };
    let fresh = Sweep::Needed {
        last_run_failed: false,
    };
    let owned = run(Vec::new(), fresh).await.expect("first apply");
    let objects = owned.len();
    assert!(objects >= 4, "{owned:?}");
    assert_eq!(lists(&seen.lock().unwrap()), 0, "a first run lists nothing");
    settled(&ns, &name).await;

    seen.lock().unwrap().clear();
    run(owned.clone(), Sweep::Always)
        .await
        .expect("apply, always sweeping");
    let before = seen.lock().unwrap().clone();
    seen.lock().unwrap().clear();
    run(owned.clone(), fresh).await.expect("apply, converged");
    let after = seen.lock().unwrap().clone();
    assert_eq!(lists(&before), 4, "{before:#?}");
    assert_eq!(lists(&after), 0, "{after:#?}");
    assert_eq!(after.len(), before.len() - 4, "{after:#?}");
    // After a failed run the lists come back.
    seen.lock().unwrap().clear();
    let failed = Sweep::Needed {
        last_run_failed: true,
    };
    run(owned.clone(), failed)
        .await
        .expect("apply after a failure");
    assert_eq!(lists(&seen.lock().unwrap()), 4);

    // Another owner's object of the same name is refused, sweep or not.
    let other = rendered(&name, &ns, json!({"configMaps": {"a": "2"}}));
    let mut other = other;
    other.owner = Owner::new(
        &kjob::core::refs::ResourceKey {
            kind: "KubernetesJob".into(),
            env: String::new(),
            name: name.clone(),
        },
        "kjob:someone-else",
    );
    let refused = deploy::apply_with(
        &cluster,
        &other,
        &[],
        &[],
        Takeover::default(),
        fresh,
        &mut Quiet,
        &Default::default(),
    )
    .await
    .expect_err("another owner's objects are not taken");
    assert!(
        matches!(refused.source, ClusterError::NotOurs { .. }),
        "{refused}"
    );
    deploy::delete(&cluster, &owned, &r.owner, &mut Quiet, &Default::default())
        .await
        .expect("delete");
}

/// Records the versions `deploy` reports, as the CLI's state does, and hands them back.
#[derive(Default)]
struct Versions(std::collections::BTreeMap<String, String>);

impl deploy::Observer for Versions {
    fn applied_at(&mut self, object: &ObjectRef, version: Option<&str>) {
        match version.filter(|_| object.kind != ObjectKind::Job) {
            Some(v) => self.0.insert(object.to_string(), v.to_owned()),
            None => self.0.remove(&object.to_string()),
        };
    }

    fn recorded_version(&self, object: &ObjectRef) -> Option<String> {
        self.0.get(&object.to_string()).cloned()
    }
}

/// Waits until the Job has finished: until then its controller writes its status, which moves
/// its resourceVersion and can make an apply read it again (a race the counts must not see).
async fn settled(ns: &str, name: &str) {
    let direct = common::cluster();
    common::eventually(
        "the Job to complete",
        std::time::Duration::from_secs(60),
        || async {
            let job = common::get(&direct, ObjectKind::Job, Some(ns), name).await?;
            let state = kjob::core::outcome::job_state(&job);
            (state == kjob::core::outcome::JobState::Complete).then_some(())
        },
    )
    .await;
}

fn take(seen: &Mutex<Vec<String>>) -> Vec<String> {
    std::mem::take(&mut *seen.lock().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_reads_only_what_no_precondition_covers_and_still_refuses_a_foreign_object() {
    let (cluster, seen, ns, name, r) = setup("unread", "ur").await;
    let fresh = Sweep::Needed {
        last_run_failed: false,
    };
    let mut versions = Versions::default();
    let cancel = Default::default();
    let apply = async |previous: &[ObjectRef], versions: &mut Versions| {
        let none = Takeover::default();
        deploy::apply_with(&cluster, &r, previous, &[], none, fresh, versions, &cancel).await
    };

    // A first apply: one create-only apply per object, nothing read.
    let owned = apply(&[], &mut versions).await.expect("first apply");
    let first = take(&seen);
    assert!(owned.len() >= 4, "{owned:?}");
    assert_eq!(first.len(), owned.len(), "{first:#?}");
    assert!(first.iter().all(|l| l.starts_with("PATCH ")), "{first:#?}");
    let jobs = owned.iter().filter(|o| o.kind == ObjectKind::Job).count();
    assert_eq!(jobs, 1);
    assert_eq!(versions.0.len(), owned.len() - jobs);
    settled(&ns, &name).await;
    take(&seen);

    // Converged, with the versions recorded: one apply per object; only the Job, whose status
    // its controller writes, is read first.
    apply(&owned, &mut versions).await.expect("converged apply");
    let again = take(&seen);
    let reads: Vec<&String> = again.iter().filter(|l| l.starts_with("GET ")).collect();
    assert_eq!(again.len(), owned.len() + jobs, "{again:#?}");
    assert_eq!(reads.len(), jobs, "{again:#?}");
    assert!(reads[0].contains("/jobs/"), "{again:#?}");
    eprintln!(
        "requests: {} objects: first apply {} requests (main: {}), converged {} (main: {})",
        owned.len(),
        first.len(),
        2 * owned.len(),
        again.len(),
        2 * owned.len()
    );

    // Between two runs our ConfigMap is deleted and another owner creates one of the same name.
    let cm = owned
        .iter()
        .find(|o| o.kind == ObjectKind::ConfigMap)
        .unwrap()
        .clone();
    let direct = common::cluster();
    direct.delete(&cm, None, None).await.expect("delete ours");
    direct
        .wait_gone(&cm, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let other = rendered(&name, &ns, json!({"configMaps": {"a": "2"}}));
    let someone = Owner::new(
        &kjob::core::refs::ResourceKey {
            kind: "KubernetesJob".into(),
            env: String::new(),
            name: name.clone(),
        },
        "kjob:someone-else",
    );
    let mut theirs = other
        .objects
        .iter()
        .find(|o| o.id == cm)
        .unwrap()
        .body
        .clone();
    someone.stamp(&mut theirs);
    direct
        .apply(&cm, &theirs, None)
        .await
        .expect("their ConfigMap")
        .unwrap();
    take(&seen);
    let refused = apply(&owned, &mut versions)
        .await
        .expect_err("another owner's ConfigMap is not taken");
    assert!(
        matches!(refused.source, ClusterError::NotOurs { .. }),
        "{refused}"
    );
    // Its precondition failed, it was read, and nothing was written to it after the read.
    let path = format!("/configmaps/{}", cm.name);
    let on_cm: Vec<String> = take(&seen)
        .into_iter()
        .filter(|l| l.contains(&path))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(on_cm, ["PATCH", "GET"], "refused after one read");
    let live = direct.get(&cm).await.unwrap().expect("theirs is there");
    assert_eq!(ownership(&live, &someone), Ownership::Ours, "{live}");
    assert_eq!(live["data"]["a"], "2", "{live}");

    // Ours again, edited by someone else since (another stack adopted it): refused too.
    direct.delete(&cm, None, None).await.expect("delete theirs");
    direct
        .wait_gone(&cm, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let mut fresh_versions = Versions::default();
    let owned = apply(&[], &mut fresh_versions).await.expect("ours again");
    let mut relabel = json!({"metadata": {}});
    someone.stamp(&mut relabel);
    let maps: kube::Api<ConfigMap> = kube::Api::namespaced(direct.client().await.unwrap(), &ns);
    let merge = kube::api::Patch::Merge(&relabel);
    maps.patch(&cm.name, &Default::default(), &merge)
        .await
        .expect("adopted by the other owner");
    let refused = apply(&owned, &mut fresh_versions)
        .await
        .expect_err("an object another owner took over is not taken back");
    assert!(
        matches!(refused.source, ClusterError::NotOurs { .. }),
        "{refused}"
    );
    direct.delete(&cm, None, None).await.expect("delete theirs");
    deploy::delete(&cluster, &owned, &r.owner, &mut Quiet, &Default::default())
        .await
        .expect("delete");
}
