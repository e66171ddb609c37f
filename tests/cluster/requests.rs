//! How many API requests one apply makes, counted by a layer in front of the client: a
//! converged resource is applied again without the label-selector LISTs that look for
//! leftovers (they run only after a failed run or when the rendered set shrank), and the owner
//! check still refuses an existing object that is not ours.

use crate::common;

use std::sync::{Arc, Mutex};

use kjob::cluster::{Cluster, ClusterError, RetryPolicy};
use kjob::core::path::PropertyPath;
use kjob::deploy::{self, Quiet, Sweep, Takeover};
use kjob::kinds::Rendered;
use kjob::kinds::job::render::RenderOptions;
use serde_json::{Value, json};

/// A client that records the method and path of every request it sends.
async fn counted() -> (Cluster, Arc<Mutex<Vec<String>>>) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converged_apply_skips_the_leftover_lists_and_still_refuses_foreign_objects() {
    let (cluster, seen) = counted().await;
    let ns = common::namespace(&common::cluster(), "requests").await;
    let name = common::unique("rq");
    let spec = json!({"configMaps": {"a": "1"}, "env": {"secrets": {"T": {"value": "x"}}}});
    let r = rendered(&name, &ns, spec);
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
    other.owner = kjob::core::owner::Owner::new(
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
