//! The resource each provider is asked for, the gRPC calls that ask (Configure, Check, Diff,
//! Create), and the floor: the same objects applied by a bare kube client.

use super::*;

// ---------------------------------------------------------------------------------------------
// Inputs.

/// The benchmark's KubernetesJob inputs: namespace (created), a ConfigMap mounted as a file,
/// an env variable, a direct env secret, resources; the pod succeeds on the test bed's fake node.
pub(crate) fn kjob_inputs(name: &str, ns: &str, parallelism: i64) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"team": "data"}, "annotations": {"owner": "data-platform@acme.example"}},
        "spec": {
            "namespace": {"value": ns}, "createNamespace": true,
            "image": {"repo": "busybox", "tag": "1.36"}, "command": ["sh", "-c", "echo done"],
            "env": {"variables": {"MODE": {"value": "full"}, "BATCH_SIZE": {"value": "1000"}}, "secrets": {"API_TOKEN": {"value": "tok-123"}}},
            "configMaps": {"settings": "chunk=100\n"},
            "volumeMounts": [{"name": "settings", "mountPath": "/etc/app", "readOnly": true, "configMap": {"name": "settings", "key": "settings", "path": "app.conf"}}],
            "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "50m", "memory": "64Mi"}},
            "parallelism": parallelism, "backoffLimit": 0
        }
    })
}

/// The objects the KubernetesJob renders to (the floor applies these; pulumi-kubernetes gets
/// them as its resources' inputs).
pub(crate) fn rendered_objects(
    name: &str,
    ns: &str,
    parallelism: i64,
) -> Vec<kjob::core::objects::Object> {
    let checked = kjob::provider::inputs::check(&kjob_inputs(name, ns, parallelism), name, &[]);
    assert!(checked.failures.is_empty(), "{:?}", checked.failures);
    checked
        .checked
        .render(&RenderOptions::default())
        .expect("renders")
        .objects
}

pub(crate) fn pk8s_type(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Namespace => "kubernetes:core/v1:Namespace",
        ObjectKind::ConfigMap => "kubernetes:core/v1:ConfigMap",
        ObjectKind::Secret => "kubernetes:core/v1:Secret",
        ObjectKind::ServiceAccount => "kubernetes:core/v1:ServiceAccount",
        ObjectKind::Job => "kubernetes:batch/v1:Job",
        ObjectKind::ResourceQuota => "kubernetes:core/v1:ResourceQuota",
        ObjectKind::LimitRange => "kubernetes:core/v1:LimitRange",
        ObjectKind::NetworkPolicy => "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    }
}

pub(crate) fn urn(ty: &str, name: &str) -> String {
    format!("urn:pulumi:bench::kjob-bench::{ty}::{name}")
}

/// One pulumi-kubernetes resource: (type, resource name, inputs).
pub(crate) struct K8sResource {
    pub(crate) ty: &'static str,
    pub(crate) name: String,
    pub(crate) news: Value,
}

pub(crate) fn pk8s_resources(
    name: &str,
    ns: &str,
    parallelism: i64,
    skip_await: bool,
) -> Vec<K8sResource> {
    rendered_objects(name, ns, parallelism)
        .into_iter()
        .map(|o| {
            let mut news = o.body;
            if skip_await {
                news["metadata"]["annotations"]["pulumi.com/skipAwait"] = json!("true");
            }
            K8sResource {
                ty: pk8s_type(o.id.kind),
                name: format!("{}-{}", o.id.kind.as_str().to_lowercase(), o.id.name),
                news,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// RPC helpers.

pub(crate) async fn configure_kjob(
    client: &mut Client,
    kubeconfig: &str,
    wait: bool,
) -> Result<(), Error> {
    client
        .configure(ConfigureRequest {
            args: Some(to_struct(&json!({"kubeconfig": kubeconfig, "wait": wait}))),
            accept_secrets: true,
            accept_resources: true,
            ..Default::default()
        })
        .await?;
    Ok(())
}

pub(crate) async fn configure_pk8s(client: &mut Client, kubeconfig: &str) -> Result<(), Error> {
    let contents = std::fs::read_to_string(kubeconfig)?;
    let news = json!({"kubeconfig": contents});
    let checked = client
        .check_config(CheckRequest {
            urn: urn("pulumi:providers:kubernetes", "default"),
            news: Some(to_struct(&news)),
            olds: Some(Default::default()),
            ..Default::default()
        })
        .await?
        .into_inner();
    if !checked.failures.is_empty() {
        return Err(format!(
            "pulumi-kubernetes CheckConfig failures: {:?}",
            checked.failures
        )
        .into());
    }
    client
        .configure(ConfigureRequest {
            variables: BTreeMap::from([("kubernetes:config:kubeconfig".to_owned(), contents)]),
            args: checked.inputs,
            accept_secrets: true,
            accept_resources: true,
            sends_old_inputs: true,
            sends_old_inputs_to_delete: true,
            ..Default::default()
        })
        .await?;
    Ok(())
}

pub(crate) async fn check(
    client: &mut Client,
    ty: &str,
    name: &str,
    news: &Value,
) -> Result<prost_types::Struct, Error> {
    let resp = client
        .check(CheckRequest {
            urn: urn(ty, name),
            news: Some(to_struct(news)),
            olds: Some(Default::default()),
            name: name.into(),
            r#type: ty.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    if !resp.failures.is_empty() {
        return Err(format!("Check {ty} {name}: {:?}", resp.failures).into());
    }
    resp.inputs.ok_or_else(|| "Check returned no inputs".into())
}

pub(crate) async fn create(
    client: &mut Client,
    ty: &str,
    name: &str,
    props: &prost_types::Struct,
) -> Result<(String, prost_types::Struct), Error> {
    let resp = client
        .create(CreateRequest {
            urn: urn(ty, name),
            properties: Some(props.clone()),
            name: name.into(),
            r#type: ty.into(),
            timeout: 300.0,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("Create {ty} {name}: {}", e.message()))?
        .into_inner();
    Ok((resp.id, resp.properties.unwrap_or_default()))
}

pub(crate) async fn diff(
    client: &mut Client,
    ty: &str,
    name: &str,
    id: &str,
    olds: &prost_types::Struct,
    old_inputs: &prost_types::Struct,
    news: &prost_types::Struct,
) -> Result<i32, Error> {
    let resp = client
        .diff(DiffRequest {
            id: id.into(),
            urn: urn(ty, name),
            olds: Some(olds.clone()),
            old_inputs: Some(old_inputs.clone()),
            news: Some(news.clone()),
            name: name.into(),
            r#type: ty.into(),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("Diff {ty} {name}: {}", e.message()))?
        .into_inner();
    Ok(resp.changes)
}

/// Creates pulumi-kubernetes' resources the way the engine would schedule them: the namespace,
/// then the ConfigMap, Secret and ServiceAccount concurrently, then the Job.
pub(crate) async fn pk8s_create_set(
    client: &Client,
    checked: &[(K8sResource, prost_types::Struct)],
) -> Result<Vec<(String, prost_types::Struct)>, Error> {
    let mut out = Vec::new();
    let (first, rest) = checked.split_first().ok_or("no resources")?;
    let (job, middle) = rest.split_last().ok_or("no job")?;
    out.push(create(&mut client.clone(), first.0.ty, &first.0.name, &first.1).await?);
    let middle = futures::future::try_join_all(middle.iter().map(|(r, p)| {
        let mut c = client.clone();
        async move { create(&mut c, r.ty, &r.name, p).await }
    }))
    .await?;
    out.extend(middle);
    out.push(create(&mut client.clone(), job.0.ty, &job.0.name, &job.1).await?);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The floor: a bare kube client.

pub(crate) async fn floor_create(
    cluster: &Cluster,
    name: &str,
    ns: &str,
    wait: bool,
) -> Result<(), Error> {
    let mut job_rv = None;
    for object in rendered_objects(name, ns, 1) {
        let applied = cluster.apply(&object.id, &object.body, None).await?;
        if let (ObjectKind::Job, Some(applied)) = (object.id.kind, applied) {
            job_rv = applied["metadata"]["resourceVersion"]
                .as_str()
                .map(str::to_owned);
        }
    }
    if !wait {
        return Ok(());
    }
    let api: kube::Api<Job> = kube::Api::namespaced(cluster.client().await?, ns);
    let params = kube::api::WatchParams::default()
        .fields(&format!("metadata.name={name}"))
        .timeout(290);
    let mut stream = api
        .watch(&params, job_rv.as_deref().unwrap_or("0"))
        .await?
        .boxed();
    let complete = |job: &Job| {
        job.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Complete" && c.status == "True")
            })
    };
    while let Some(event) = stream.next().await {
        match event? {
            kube::api::WatchEvent::Added(j) | kube::api::WatchEvent::Modified(j)
                if complete(&j) =>
            {
                return Ok(());
            }
            kube::api::WatchEvent::Error(e) => return Err(format!("watch: {e:?}").into()),
            _ => {}
        }
    }
    Err("the watch ended before the Job completed".into())
}
