//! Project Planton's CLI inputs end to end, with the built `kjob`: a manifest from an http URL
//! (a loopback server), `load-manifest` with `--set a=1,b=2`, stack inputs whose provider config
//! reaches the test bed (a DigitalOcean kubeconfig as given; GKE: a service account key, made
//! at test time, exchanged at a loopback token server for a real service account token), the
//! kube context chosen by the manifest label and by `--kube-context`, and mounts of a ConfigMap
//! and a Secret that exist already.

use crate::common;
use common::cli::{Bed, Run, yaml_job};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kjob::core::objects::ObjectKind;
use serde_json::{Value, json};

/// One loopback HTTP server thread answering every request with `answer(path, body)`.
fn serve(answer: impl Fn(&str, &str) -> (u16, String) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap_or_default();
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap_or_default();
            let (status, text) = answer(&path, &String::from_utf8_lossy(&body));
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    address
}

/// `kjob ARGS` with our state directory and no ambient kubeconfig (`KUBECONFIG` points nowhere).
fn kjob(bed: &Bed, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_kjob"))
        .args(args)
        .arg("--state-dir")
        .arg(bed.state())
        .env("NO_COLOR", "1")
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KJOB_STATE_DIR")
        .env_remove("KJOB_STACK")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run::from(output)
}

fn job_doc(name: &str, ns: &str) -> String {
    yaml_job(name, &format!("  namespace: {{value: {ns}}}\n"))
}

#[tokio::test]
async fn a_manifest_url_is_fetched_and_load_manifest_prints_the_effective_manifest() {
    let bed = Bed::new();
    let name = common::unique("url");
    let text = job_doc(&name, "default");
    let url = serve(move |path, _| {
        if path == "/job.yaml" {
            (200, text.clone())
        } else {
            (404, "no".into())
        }
    });
    bed.run(&["validate", "--manifest", &format!("{url}/job.yaml")])
        .ok();
    let run = bed.run(&[
        "load-manifest",
        &format!("{url}/job.yaml"),
        "--set",
        "spec.parallelism=2,spec.env.secrets.TOKEN.value=s3cr3t,pa,spec.suspend=true",
        "--set",
        "spec.backoffLimit=1",
        "-o",
        "json",
    ]);
    run.ok().never_says("s3cr3t");
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["spec"]["parallelism"], 2);
    assert_eq!(doc["spec"]["suspend"], true);
    assert_eq!(doc["spec"]["backoffLimit"], 1);
    assert_eq!(doc["spec"]["restartPolicy"], "Never", "defaults are filled");
    assert!(
        doc["spec"]["env"]["secrets"]["TOKEN"]["value"]
            .as_str()
            .unwrap()
            .contains("sha256")
    );
    let run = bed.run(&[
        "load-manifest",
        "--manifest",
        &format!("{url}/job.yaml"),
        "--show-secrets",
        "--set",
        "spec.env.secrets.TOKEN.value=s3cr3t,pa",
    ]);
    run.ok().says("s3cr3t,pa");
    let run = bed.run(&["validate", "--manifest", &format!("{url}/missing.yaml")]);
    run.exit(2)
        .says(&format!("{url}/missing.yaml: the server answered 404"));
    // A malformed --set does not show the secret.
    let run = bed.run(&[
        "validate",
        "--manifest",
        &format!("{url}/job.yaml"),
        "--set",
        "spec.env.secrets.T.value=hunter2,:spec.x=1",
    ]);
    run.exit(2).never_says("hunter2");
}

/// Deploys the stack input in `file`, and checks the Job exists; then takes it down.
async fn up_and_down(bed: &Bed, file: &str, name: &str) {
    kjob(bed, &["up", "-i", file, "--yes", "--no-wait"]).ok();
    let cluster = common::cluster();
    assert!(
        common::get(&cluster, ObjectKind::Job, Some("default"), name)
            .await
            .is_some()
    );
    kjob(bed, &["down", "--stack-input", file, "--yes"]).ok();
}

fn testbed_kubeconfig() -> (String, String, String) {
    let text = std::fs::read_to_string(common::kubeconfig()).unwrap();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_owned()))
            .unwrap()
    };
    (
        text.clone(),
        field("server:"),
        field("certificate-authority:"),
    )
}

#[tokio::test]
async fn a_digital_ocean_stack_input_deploys_with_its_kubeconfig() {
    let bed = Bed::new();
    let name = common::unique("doks");
    let (kubeconfig, ..) = testbed_kubeconfig();
    let target: String = job_doc(&name, "default")
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect();
    let input =
        json!({"provider": "digital_ocean_doks", "digitalOceanDoks": {"kubeConfig": kubeconfig}});
    let file = bed.file(
        "stack.yaml",
        &format!("target:\n{target}providerConfig: {input}\n"),
    );
    up_and_down(&bed, &file, &name).await;
    // The ambient kubeconfig is not used: without a provider config nothing is reachable.
    let bare = bed.file("bare.yaml", &format!("target:\n{target}"));
    kjob(&bed, &["up", "-i", &bare, "--yes", "--call-timeout", "2"]).exit(4);
    // Decoding errors name the file, the property path, and its line and column in the file.
    let bad = bed.file(
        "bad.yaml",
        &format!(
            "providerConfig:\n  provider: digital_ocean_doks\n  bogusField: 1\ntarget:\n{target}"
        ),
    );
    kjob(&bed, &["validate", "-i", &bad])
        .exit(2)
        .says("bad.yaml:3:15: providerConfig.bogusField: unknown field");
    let wrong: String = yaml_job(
        &name,
        "  namespace: {value: default}\n  backoffLimit: many\n",
    )
    .lines()
    .map(|l| format!("  {l}\n"))
    .collect();
    let text = format!("# stack input\ntarget:\n{wrong}");
    let line = 1 + text
        .lines()
        .position(|l| l.contains("backoffLimit"))
        .unwrap();
    let wrong = bed.file("wrong.yaml", &text);
    kjob(&bed, &["validate", "-i", &wrong])
        .exit(2)
        .says(&format!(
            "wrong.yaml:{line}:19: spec.backoffLimit: expected a whole number"
        ));
}

/// A real token for a new ServiceAccount allowed to do anything (the test bed's RBAC).
async fn service_account_token() -> String {
    let cluster = common::cluster();
    let client = cluster.client().await.unwrap();
    let name = common::unique("gke-sa");
    let sa = common::obj(ObjectKind::ServiceAccount, Some("default"), &name);
    cluster
        .apply(&sa, &json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "default"}}), None)
        .await
        .unwrap();
    let bindings: kube::Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> =
        kube::Api::all(client.clone());
    let binding = serde_json::from_value(json!({"metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}]})).unwrap();
    bindings
        .create(&Default::default(), &binding)
        .await
        .unwrap();
    let accounts: kube::Api<k8s_openapi::api::core::v1::ServiceAccount> =
        kube::Api::namespaced(client, "default");
    let request = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}});
    let answer: Value = accounts
        .create_subresource("token", &name, &Default::default(), &request)
        .await
        .unwrap();
    answer["status"]["token"].as_str().unwrap().to_owned()
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test]
async fn a_gke_stack_input_exchanges_its_key_for_a_token() {
    let bed = Bed::new();
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("key.pem");
    let key_path = key_path.to_str().unwrap();
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        key_path,
    ]);
    let public = openssl(&[
        "rsa",
        "-in",
        key_path,
        "-RSAPublicKey_out",
        "-outform",
        "DER",
    ]);
    let token = service_account_token().await;
    let email = "deployer@project.iam.gserviceaccount.com";
    let (server_token, accept) = (
        token.clone(),
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)),
    );
    let accepting = accept.clone();
    let token_server = serve(move |_, body| {
        let assertion = body
            .split('&')
            .find_map(|p| p.strip_prefix("assertion="))
            .unwrap_or("");
        let parts: Vec<&str> = assertion.split('.').collect();
        let verified = parts.len() == 3
            && ring::signature::UnparsedPublicKey::new(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                &public,
            )
            .verify(
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap_or_default(),
            )
            .is_ok();
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(parts.get(1).unwrap_or(&""))
                .unwrap_or_default(),
        )
        .unwrap_or_default();
        if verified
            && claims["iss"] == email
            && body.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
            && accepting.load(std::sync::atomic::Ordering::SeqCst)
        {
            (
                200,
                json!({"access_token": server_token, "expires_in": 3600, "token_type": "Bearer"})
                    .to_string(),
            )
        } else {
            (
                400,
                json!({"error": "invalid_grant", "error_description": "bad assertion"}).to_string(),
            )
        }
    });
    let key = json!({"type": "service_account", "client_email": email, "private_key_id": "k1",
        "private_key": String::from_utf8(std::fs::read(key_path).unwrap()).unwrap(),
        "token_uri": format!("{token_server}/token")});
    let (_, server, ca_file) = testbed_kubeconfig();
    let ca = STANDARD.encode(std::fs::read(&ca_file).unwrap());
    let name = common::unique("gke");
    let target: String = job_doc(&name, "default")
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect();
    let config = json!({"provider": "gcp_gke", "gcpGke": {"clusterEndpoint": server.trim_start_matches("https://"),
        "clusterCaData": ca, "serviceAccountKeyBase64": STANDARD.encode(key.to_string())}});
    let file = bed.file(
        "gke.yaml",
        &format!("target:\n{target}providerConfig: {config}\n"),
    );
    up_and_down(&bed, &file, &name).await;
    // A refused exchange fails the run (exit 4), naming the server's error, never the key.
    accept.store(false, std::sync::atomic::Ordering::SeqCst);
    let run = kjob(&bed, &["up", "-i", &file, "--yes"]);
    run.exit(4)
        .says("invalid_grant")
        .never_says("PRIVATE KEY")
        .never_says(&token);
}

#[tokio::test]
async fn the_kube_context_comes_from_the_flag_else_the_manifest_label() {
    let bed = Bed::new();
    let (text, ..) = testbed_kubeconfig();
    // Two contexts: "good" (the test bed) and the current one, "dead" (nothing listens).
    let value: Value = serde_saphyr::from_str(&text).unwrap();
    let mut config = value.clone();
    let mut dead = value["clusters"][0].clone();
    dead["name"] = json!("dead");
    dead["cluster"]["server"] = json!("https://127.0.0.1:1");
    config["clusters"].as_array_mut().unwrap().push(dead);
    let user = value["users"][0]["name"].clone();
    let cluster = value["clusters"][0]["name"].clone();
    config["contexts"] = json!([{"name": "good", "context": {"cluster": cluster, "user": user}},
        {"name": "dead", "context": {"cluster": "dead", "user": user}}]);
    config["current-context"] = json!("dead");
    let kubeconfig = bed.file("kubeconfig", &config.to_string());
    let name = common::unique("ctx");
    let labelled = yaml_job(&name, "  namespace: {value: default}\n").replace(
        &format!("  name: {name}\n"),
        &format!("  name: {name}\n  labels: {{kubernetes.project-planton.org/context: good}}\n"),
    );
    let file = bed.file("job.yaml", &labelled);
    let short = ["--call-timeout", "2", "--request-timeout", "1"];
    kjob(
        &bed,
        &[
            &[
                "up",
                "-f",
                &file,
                "--yes",
                "--no-wait",
                "--kubeconfig",
                &kubeconfig,
            ][..],
            &short,
        ]
        .concat(),
    )
    .ok();
    kjob(
        &bed,
        &[
            &[
                "down",
                "-f",
                &file,
                "--yes",
                "--kube-context",
                "dead",
                "--kubeconfig",
                &kubeconfig,
            ][..],
            &short,
        ]
        .concat(),
    )
    .exit(4);
    kjob(
        &bed,
        &["down", "-f", &file, "--yes", "--kubeconfig", &kubeconfig],
    )
    .ok();
}

#[tokio::test]
async fn existing_config_maps_and_secrets_are_mounted_as_named_and_left_alone() {
    let cluster = common::cluster();
    let bed = Bed::new();
    let ns = common::namespace(&cluster, "mounts").await;
    let cm = common::obj(ObjectKind::ConfigMap, Some(&ns), "shared-settings");
    let secret = common::obj(ObjectKind::Secret, Some(&ns), "tls-certs");
    cluster.apply(&cm, &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared-settings", "namespace": ns}, "data": {"app.ini": "a=1"}}), None).await.unwrap();
    cluster.apply(&secret, &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls-certs", "namespace": ns}, "stringData": {"tls.crt": "x"}}), None).await.unwrap();
    let name = common::unique("mounts");
    let file = bed.file("job.yaml", &yaml_job(&name, &format!(
        "  namespace: {{value: {ns}}}\n  configMaps: {{ours: 'x=1'}}\n  volumeMounts:\n    - {{name: a, mountPath: /a, configMap: {{name: ours}}}}\n    - {{name: b, mountPath: /b, configMap: {{name: shared-settings, key: app.ini}}}}\n    - {{name: c, mountPath: /c, secret: {{name: tls-certs}}}}\n")));
    bed.run(&["up", "--manifest", &file, "--yes", "--no-wait"])
        .ok();
    let job = common::get(&cluster, ObjectKind::Job, Some(&ns), &name)
        .await
        .unwrap();
    let volumes = &job["spec"]["template"]["spec"]["volumes"];
    assert_eq!(volumes[0]["configMap"]["name"], "ours");
    assert_eq!(volumes[1]["configMap"]["name"], "shared-settings");
    assert_eq!(volumes[2]["secret"]["secretName"], "tls-certs");
    assert!(
        common::get(&cluster, ObjectKind::ConfigMap, Some(&ns), "ours")
            .await
            .is_some()
    );
    bed.run(&["down", "--manifest", &file, "--yes"]).ok();
    // Not ours: untouched, unlabelled, still there.
    for id in [&cm, &secret] {
        let object = cluster.get(id).await.unwrap().expect("left in place");
        assert!(object["metadata"]["labels"].is_null(), "{object}");
    }
    assert!(
        common::get(&cluster, ObjectKind::ConfigMap, Some(&ns), "ours")
            .await
            .is_none()
    );
}

/// The kustomize binary `scripts/kustomize-build` builds (once; cached under ~/.cache/kjob).
fn kustomize_binary() -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/kustomize-build");
    let out = Command::new(script)
        .output()
        .expect("scripts/kustomize-build runs");
    assert!(
        out.status.success(),
        "scripts/kustomize-build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_kustomize_overlay_is_built_and_deployed() {
    let bed = Bed::new();
    let name = common::unique("kust");
    let root = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("base/job.yaml", &job_doc(&name, "default"));
    write("base/kustomization.yaml", "resources: [job.yaml]\n");
    write(
        "overlays/dev/kustomization.yaml",
        "resources: [../../base]\npatches:\n- target: {kind: KubernetesJob}\n  patch: |-\n    - op: add\n      path: /spec/parallelism\n      value: 3\n",
    );
    let dir = root.path().to_str().unwrap();
    let binary = kustomize_binary();
    let with = |args: &[&str], kustomize: &str, path: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_kjob"))
            .args(args)
            .arg("--state-dir")
            .arg(bed.state())
            .arg("--kubeconfig")
            .arg(common::kubeconfig())
            .env("NO_COLOR", "1")
            .env("KJOB_KUSTOMIZE", kustomize)
            .env("KJOB_CACHE", "/nonexistent")
            .env("PATH", path)
            .env_remove("KJOB_STATE_DIR")
            .env_remove("KJOB_STACK")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Run::from(output)
    };
    let path = std::env::var("PATH").unwrap_or_default();
    let run = with(
        &[
            "load-manifest",
            "--kustomize-dir",
            dir,
            "--overlay",
            "dev",
            "-o",
            "json",
        ],
        &binary,
        &path,
    );
    let doc: Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(doc["spec"]["parallelism"], 3, "the overlay's patch applies");
    with(
        &[
            "up",
            "--kustomize-dir",
            dir,
            "--overlay",
            "dev",
            "--yes",
            "--no-wait",
        ],
        &binary,
        &path,
    )
    .ok();
    let cluster = common::cluster();
    let job = common::get(&cluster, ObjectKind::Job, Some("default"), &name)
        .await
        .unwrap();
    assert_eq!(job["spec"]["parallelism"], 3);
    with(
        &["down", "--kustomize-dir", dir, "--overlay", "dev", "--yes"],
        &binary,
        &path,
    )
    .ok();
    // No kustomize anywhere: a clear error saying how to get one.
    with(
        &["validate", "--kustomize-dir", dir, "--overlay", "dev"],
        "",
        "/nonexistent",
    )
    .exit(2)
    .says("scripts/kustomize-build");
    with(
        &["validate", "--kustomize-dir", dir, "--overlay", "prod"],
        &binary,
        &path,
    )
    .exit(2)
    .says("overlays/prod is not a directory");
}
