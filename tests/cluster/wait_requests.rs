//! How many API requests waiting costs: several Jobs waited for at once in one namespace share
//! one watch of its Jobs and one of its Warning events (`cluster::feed`), each wait reading its
//! Job once, instead of polling each Job and listing every warning of the namespace several
//! times a second.

use crate::common;

use std::time::Instant;

use kjob::core::outcome::JobStatus;
use kjob::core::path::PropertyPath;
use kjob::deploy::{self, Quiet};
use kjob::kinds::job::render::RenderOptions;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_waits_in_a_namespace_share_one_watch() {
    let (cluster, seen) = crate::requests::counted().await;
    let ns = common::namespace(&common::cluster(), "waitreq").await;
    let names: Vec<String> = (0..3).map(|_| common::unique("wr")).collect();
    let mut owned = Vec::new();
    for name in &names {
        let doc = common::manifest(name, &ns, json!({"completions": 3, "parallelism": 1}));
        let kind = kjob::kinds::Kind::KubernetesJob;
        let checked = kind.check(&doc, &PropertyPath::root(), None, &[]);
        let rendered = checked.render(&RenderOptions::default()).expect("renders");
        let cancel = Default::default();
        let none = Default::default();
        owned.push((
            rendered.owner.clone(),
            deploy::apply(&cluster, &rendered, &[], &[], none, &mut Quiet, &cancel)
                .await
                .expect("apply"),
        ));
    }
    seen.lock().unwrap().clear();
    let started = Instant::now();
    let waits = names.iter().map(|name| {
        let (cluster, ns) = (&cluster, &ns);
        async move {
            let cancel = Default::default();
            let timeout = std::time::Duration::from_secs(120);
            kjob::wait::wait(cluster, ns, name, timeout, &[], &cancel, &mut |_| {}).await
        }
    });
    for result in futures::future::join_all(waits).await {
        assert_eq!(
            result.expect("the Job completes").status(),
            JobStatus::Complete
        );
    }
    let took = started.elapsed().as_secs_f64();
    let requests = std::mem::take(&mut *seen.lock().unwrap());
    let count = |f: &dyn Fn(&String) -> bool| requests.iter().filter(|l| f(l)).count();
    let reads = count(&|l| l.starts_with("GET ") && l.contains("/jobs/"));
    let job_lists = count(&|l| l.contains("/jobs?") && !l.contains("watch=true"));
    let event_lists = count(&|l| l.contains("/events?") && !l.contains("watch=true"));
    let watches = count(&|l| l.contains("watch=true"));
    eprintln!(
        "wait_requests: 3 Jobs waited for at once in {took:.1}s: {} requests ({reads} Job reads, \
         {job_lists} Job lists, {event_lists} event lists, {watches} watches); polling made \
         about {:.0}",
        requests.len(),
        took * 8.0 * 3.0
    );
    assert!(
        reads <= 3 * 2,
        "one read per wait, and one more if the feed lags: {requests:#?}"
    );
    assert_eq!(job_lists, 1, "one shared list of Jobs: {requests:#?}");
    assert_eq!(event_lists, 1, "one shared list of warnings: {requests:#?}");
    assert!(
        requests
            .iter()
            .all(|l| !l.contains("/events?") || l.contains("type%3DWarning")),
        "only warnings are asked for: {requests:#?}"
    );
    for (owner, objects) in owned {
        deploy::delete(&cluster, &objects, &owner, &mut Quiet, &Default::default())
            .await
            .expect("delete");
    }
}
