//! The reverse of rendering: rebuilds a KubernetesJob's inputs from its live objects, for
//! refresh and `pulumi import`. Pure: the caller reads the objects.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::core::objects::labels;
use crate::core::owner;
use crate::kinds::job::render::{self};

/// Live objects that belong to one KubernetesJob.
#[derive(Debug, Clone, Default)]
pub struct LiveObjects {
    /// The Job.
    pub job: Value,
    /// ConfigMaps carrying the ownership labels.
    pub config_maps: Vec<Value>,
    /// The direct env secrets' Secret, if any.
    pub env_secret: Option<Value>,
    /// The registry-credentials Secret, if any.
    pub image_pull_secret: Option<Value>,
    /// Whether the namespace carries the ownership labels (it was created by this resource).
    pub namespace_owned: bool,
}

/// Splits `repo:tag` or `repo@digest` into repository and tag (a digest counts as the tag).
pub fn split_image(image: &str) -> (String, String) {
    if let Some((repo, digest)) = image.split_once('@') {
        return (repo.to_owned(), digest.to_owned());
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) => (
            image[..last_slash + i].to_owned(),
            image[last_slash + i + 1..].to_owned(),
        ),
        None => (image.to_owned(), String::new()),
    }
}

fn secret_data(secret: Option<&Value>, key: &str) -> Option<String> {
    secret?
        .get("data")?
        .get(key)?
        .as_str()
        .and_then(crate::core::secrets::decode_base64)
}

/// Rebuilds the inputs (`metadata`, `spec`, and `dockerConfigJson` when present).
pub fn inputs_from_live(live: &LiveObjects) -> Value {
    let job = &live.job;
    let name = job["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let namespace = job["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let mut metadata = Map::new();
    metadata.insert("name".into(), name.clone().into());
    let mut user_labels = BTreeMap::new();
    if let Some(all) = job["metadata"]["labels"].as_object() {
        for (k, v) in all {
            let v = v.as_str().unwrap_or_default().to_owned();
            match k.as_str() {
                labels::PLANTON_ID => drop(metadata.insert("id".into(), v.into())),
                labels::PLANTON_ORG => drop(metadata.insert("org".into(), v.into())),
                labels::PLANTON_ENV => drop(metadata.insert("env".into(), v.into())),
                _ if render::template_labels(&name).contains_key(k) => {}
                owner::OWNER_LABEL => {}
                _ => drop(user_labels.insert(k.clone(), v)),
            }
        }
    }
    if !user_labels.is_empty() {
        metadata.insert("labels".into(), json!(user_labels));
    }
    if let Some(annotations) = job["metadata"]["annotations"].as_object() {
        // The owner identity is kjob's, not the manifest's.
        let mut annotations = annotations.clone();
        annotations.remove(owner::OWNER_ANNOTATION);
        if !annotations.is_empty() {
            metadata.insert("annotations".into(), Value::Object(annotations));
        }
    }

    let spec_in = &job["spec"];
    let pod = &spec_in["template"]["spec"];
    let container = &pod["containers"][0];
    let mut spec = Map::new();
    spec.insert("namespace".into(), json!({"value": namespace}));
    if live.namespace_owned {
        spec.insert("createNamespace".into(), true.into());
    }
    let (repo, tag) = split_image(container["image"].as_str().unwrap_or_default());
    let mut image = Map::new();
    image.insert("repo".into(), repo.into());
    if !tag.is_empty() {
        image.insert("tag".into(), tag.into());
    }
    let ours = render::image_pull_secret_name(&name);
    if let Some(existing) = pod["imagePullSecrets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .find(|n| *n != ours)
    {
        image.insert("pullSecretName".into(), existing.into());
    }
    spec.insert("image".into(), Value::Object(image));

    if let Some(resources) = container
        .get("resources")
        .and_then(Value::as_object)
        .filter(|r| !r.is_empty())
    {
        let mut out = Map::new();
        for kind in ["limits", "requests"] {
            if let Some(q) = resources.get(kind).and_then(Value::as_object) {
                let mut cm = Map::new();
                for key in ["cpu", "memory"] {
                    if let Some(v) = q.get(key).and_then(Value::as_str) {
                        cm.insert(key.into(), v.into());
                    }
                }
                out.insert(kind.into(), Value::Object(cm));
            }
        }
        spec.insert("resources".into(), Value::Object(out));
    }

    let env_secret_name = render::env_secret_name(&name);
    let mut variables = Map::new();
    let mut secrets = Map::new();
    for var in container["env"].as_array().into_iter().flatten() {
        let key = var["name"].as_str().unwrap_or_default().to_owned();
        if let Some(value) = var.get("value").and_then(Value::as_str) {
            variables.insert(key, json!({"value": value}));
        } else if let Some(sel) = var.pointer("/valueFrom/secretKeyRef") {
            let secret_name = sel["name"].as_str().unwrap_or_default();
            let secret_key = sel["key"].as_str().unwrap_or_default();
            if secret_name == env_secret_name {
                let value = secret_data(live.env_secret.as_ref(), secret_key).unwrap_or_default();
                secrets.insert(key, json!({"value": value}));
            } else {
                secrets.insert(
                    key,
                    json!({"secretRef": {"name": secret_name, "key": secret_key}}),
                );
            }
        } else if var.get("valueFrom").is_none() {
            variables.insert(key, json!({"value": ""}));
        }
    }
    if !variables.is_empty() || !secrets.is_empty() {
        let mut env = Map::new();
        if !variables.is_empty() {
            env.insert("variables".into(), Value::Object(variables));
        }
        if !secrets.is_empty() {
            env.insert("secrets".into(), Value::Object(secrets));
        }
        spec.insert("env".into(), Value::Object(env));
    }

    for (from, to) in [
        ("parallelism", "parallelism"),
        ("completions", "completions"),
        ("backoffLimit", "backoffLimit"),
        ("activeDeadlineSeconds", "activeDeadlineSeconds"),
        ("ttlSecondsAfterFinished", "ttlSecondsAfterFinished"),
        ("completionMode", "completionMode"),
        ("suspend", "suspend"),
    ] {
        if let Some(v) = spec_in.get(from).filter(|v| !v.is_null()) {
            spec.insert(to.into(), v.clone());
        }
    }
    for key in ["activeDeadlineSeconds", "ttlSecondsAfterFinished"] {
        spec.entry(key).or_insert(0.into());
    }
    if let Some(policy) = pod.get("restartPolicy") {
        spec.insert("restartPolicy".into(), policy.clone());
    }
    for key in ["command", "args"] {
        if let Some(list) = container
            .get(key)
            .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        {
            spec.insert(key.into(), list.clone());
        }
    }

    let mut config_maps = Map::new();
    for cm in &live.config_maps {
        let cm_name = cm["metadata"]["name"].as_str().unwrap_or_default();
        if let Some(content) = cm["data"].get(cm_name).and_then(Value::as_str) {
            config_maps.insert(cm_name.into(), content.into());
        }
    }
    if !config_maps.is_empty() {
        spec.insert("configMaps".into(), Value::Object(config_maps));
    }

    let volumes: BTreeMap<&str, &Value> = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| Some((v["name"].as_str()?, v)))
        .collect();
    let mut mounts = Vec::new();
    for mount in container["volumeMounts"].as_array().into_iter().flatten() {
        let mount_name = mount["name"].as_str().unwrap_or_default();
        let mut out = Map::new();
        out.insert("name".into(), mount_name.into());
        out.insert("mountPath".into(), mount["mountPath"].clone());
        if mount["readOnly"] == true {
            out.insert("readOnly".into(), true.into());
        }
        if let Some(sub) = mount["subPath"].as_str().filter(|s| !s.is_empty()) {
            out.insert("subPath".into(), sub.into());
        }
        if let Some(volume) = volumes.get(mount_name) {
            volume_source(volume, &mut out);
        }
        mounts.push(Value::Object(out));
    }
    if !mounts.is_empty() {
        spec.insert("volumeMounts".into(), Value::Array(mounts));
    }

    let mut inputs = Map::new();
    inputs.insert("metadata".into(), Value::Object(metadata));
    inputs.insert("spec".into(), Value::Object(spec));
    if let Some(config) = secret_data(live.image_pull_secret.as_ref(), ".dockerconfigjson") {
        inputs.insert(super::DOCKER_CONFIG_JSON.into(), config.into());
    }
    Value::Object(inputs)
}

fn items_key_path(source: &Value, out: &mut Map<String, Value>) {
    if let Some(item) = source["items"].as_array().and_then(|i| i.first()) {
        let key = item["key"].as_str().unwrap_or_default();
        let path = item["path"].as_str().unwrap_or_default();
        out.insert("key".into(), key.into());
        out.insert("path".into(), path.into());
    }
    if let Some(mode) = source["defaultMode"].as_i64().filter(|m| *m != 0o644) {
        out.insert("defaultMode".into(), mode.into());
    }
}

fn volume_source(volume: &Value, out: &mut Map<String, Value>) {
    if let Some(cm) = volume.get("configMap") {
        let mut s = Map::new();
        s.insert("name".into(), cm["name"].clone());
        items_key_path(cm, &mut s);
        out.insert("configMap".into(), Value::Object(s));
    } else if let Some(secret) = volume.get("secret") {
        let mut s = Map::new();
        s.insert("name".into(), secret["secretName"].clone());
        items_key_path(secret, &mut s);
        out.insert("secret".into(), Value::Object(s));
    } else if let Some(host) = volume.get("hostPath") {
        let mut s = Map::new();
        s.insert("path".into(), host["path"].clone());
        if let Some(t) = host["type"].as_str().filter(|t| !t.is_empty()) {
            s.insert("type".into(), t.into());
        }
        out.insert("hostPath".into(), Value::Object(s));
    } else if let Some(dir) = volume.get("emptyDir") {
        let mut s = Map::new();
        if let Some(m) = dir["medium"].as_str().filter(|t| !t.is_empty()) {
            s.insert("medium".into(), m.into());
        }
        if let Some(l) = dir["sizeLimit"].as_str() {
            s.insert("sizeLimit".into(), l.into());
        }
        out.insert("emptyDir".into(), Value::Object(s));
    } else if let Some(pvc) = volume.get("persistentVolumeClaim") {
        let mut s = Map::new();
        s.insert("claimName".into(), pvc["claimName"].clone());
        if pvc["readOnly"] == true {
            s.insert("readOnly".into(), true.into());
        }
        out.insert("pvc".into(), Value::Object(s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::objects::API_VERSION;
    use crate::core::path::PropertyPath;
    use crate::kinds::job::render::{RenderOptions, render};

    #[test]
    fn images_split() {
        assert_eq!(split_image("busybox"), ("busybox".into(), "".into()));
        assert_eq!(
            split_image("reg:5000/a/b:1.2"),
            ("reg:5000/a/b".into(), "1.2".into())
        );
        assert_eq!(split_image("a@sha256:ff"), ("a".into(), "sha256:ff".into()));
    }

    #[test]
    fn base64() {
        assert_eq!(
            crate::core::secrets::decode_base64("aGVsbG8=").as_deref(),
            Some("hello")
        );
    }

    /// Rendering then importing gives back the checked inputs, so refresh of an unchanged
    /// resource shows no diff.
    #[test]
    fn render_then_import_round_trips() {
        let given = json!({
            "apiVersion": API_VERSION, "kind": "KubernetesJob",
            "metadata": {"name": "etl", "env": "dev", "labels": {"team": "data"}},
            "spec": {
                "namespace": {"value": "batch"}, "createNamespace": true,
                "image": {"repo": "registry.local:5000/etl", "tag": "2.1"},
                "command": ["sh", "-c"], "args": ["echo hi"],
                "env": {"variables": {"A": {"value": "1"}}, "secrets": {"TOKEN": {"value": "t0k"}, "DB": {"secretRef": {"name": "db", "key": "pw"}}}},
                "configMaps": {"app.conf": "x=1"},
                "volumeMounts": [
                    {"name": "conf", "mountPath": "/etc/app", "configMap": {"name": "app.conf", "key": "app.conf", "path": "app.conf"}},
                    {"name": "scratch", "mountPath": "/tmp/s", "emptyDir": {"sizeLimit": "1Gi"}}
                ],
                "parallelism": 2, "completions": 4, "activeDeadlineSeconds": 600, "suspend": false
            }
        });
        let check = |doc: &Value| super::super::check(doc, &PropertyPath::root(), None, &[]);
        let checked = check(&given);
        assert!(checked.failures.is_empty(), "{:?}", checked.failures);
        let rendered = render(&checked.job, &RenderOptions::default()).unwrap();
        let objects = rendered.objects();
        let body = |kind: crate::core::objects::ObjectKind| {
            objects
                .iter()
                .find(|o| o.id.kind == kind)
                .map(|o| o.body.clone())
        };
        let live = LiveObjects {
            job: body(crate::core::objects::ObjectKind::Job).unwrap(),
            config_maps: objects
                .iter()
                .filter(|o| o.id.kind == crate::core::objects::ObjectKind::ConfigMap)
                .map(|o| o.body.clone())
                .collect(),
            env_secret: body(crate::core::objects::ObjectKind::Secret),
            image_pull_secret: None,
            namespace_owned: true,
        };
        let mut imported = inputs_from_live(&live);
        imported["apiVersion"] = json!(API_VERSION);
        imported["kind"] = json!("KubernetesJob");
        let rebuilt = check(&imported);
        assert!(rebuilt.failures.is_empty(), "{:?}", rebuilt.failures);
        let d = crate::core::diff::diff(&checked.document, &rebuilt.document, &[], &|_| false);
        assert!(d.is_empty(), "{d:#?}\n{:#}", rebuilt.document);
    }
}
