//! Upstream parity: every case of Project Planton's own KubernetesJob and KubernetesNamespace
//! tests and examples, as a manifest under `tests/upstream/` (transcribed for kjob, not copied),
//! checked by the same pipeline as `kjob validate` (load, order, check, render; an empty state
//! store). Upstream files are in github.com/project-planton/project-planton under
//! `apis/org/project_planton/provider/kubernetes/kubernetesjob/v1/` and
//! `.../kubernetesnamespace/v1/` (the `namespace_*` folders here).
//!
//! Each upstream-valid case must be valid here: kjob adds no rule that refuses one. Where kjob is
//! stricter than upstream (README, "Stricter than upstream"), the message names the rule; the
//! second table shows each such rule firing.

use std::path::Path;

use kjob::cli::plan;
use kjob::state::FileStore as Store;

/// What `kjob validate` must say.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Valid.
    Valid,
    /// Invalid, with a problem at each of these property paths (and no other).
    Invalid(&'static [&'static str]),
}
use Expect::{Invalid, Valid};

/// (file under tests/upstream, upstream file, upstream case, expected outcome)
#[rustfmt::skip]
const CASES: &[(&str, &str, &str, Expect)] = &[
    ("spec_test/01-valid-create-namespace-true.yaml", "spec_test.go", "kubernetes_job with create_namespace=true", Valid),
    ("spec_test/02-valid-create-namespace-false.yaml", "spec_test.go", "kubernetes_job with create_namespace=false", Valid),
    ("spec_test/03-valid-restart-policy-on-failure.yaml", "spec_test.go", "restart_policy OnFailure", Valid),
    ("spec_test/04-valid-indexed.yaml", "spec_test.go", "Indexed completion mode with completions and parallelism", Valid),
    ("spec_test/05-valid-parallel.yaml", "spec_test.go", "parallel job (parallelism 10, completions 100)", Valid),
    ("spec_test/06-valid-active-deadline.yaml", "spec_test.go", "active_deadline_seconds", Valid),
    ("spec_test/07-valid-ttl.yaml", "spec_test.go", "ttl_seconds_after_finished", Valid),
    ("spec_test/08-invalid-restart-policy-always.yaml", "spec_test.go", "invalid restart_policy Always", Invalid(&["spec.restartPolicy"])),
    ("spec_test/09-invalid-completion-mode.yaml", "spec_test.go", "invalid completion_mode", Invalid(&["spec.completionMode"])),
    ("spec_test/10-valid-secret-direct-value.yaml", "spec_test.go", "secrets with direct string values", Valid),
    ("spec_test/11-valid-secret-ref.yaml", "spec_test.go", "secrets with secretRef", Valid),
    ("spec_test/12-valid-secrets-mixed.yaml", "spec_test.go", "secrets of mixed types", Valid),
    ("spec_test/13-invalid-secret-ref-without-name.yaml", "spec_test.go", "secretRef missing name", Invalid(&["spec.env.secrets.DATABASE_PASSWORD.secretRef.name"])),
    ("spec_test/14-invalid-secret-ref-without-key.yaml", "spec_test.go", "secretRef missing key", Invalid(&["spec.env.secrets.DATABASE_PASSWORD.secretRef.key"])),
    ("spec_test/15-valid-variables-direct.yaml", "spec_test.go", "variables with direct values", Valid),
    ("spec_test/16-valid-variables-value-from.yaml", "spec_test.go", "variables with valueFrom (name only)", Valid),
    ("spec_test/17-valid-variables-mixed.yaml", "spec_test.go", "variables of mixed types", Valid),
    ("spec_test/18-invalid-value-from-without-name.yaml", "spec_test.go", "valueFrom missing name", Invalid(&["spec.env.variables.DATABASE_HOST.valueFrom.name"])),
    ("examples/basic-job.yaml", "examples.md", "Basic Job", Valid),
    ("examples/database-migration-job.yaml", "examples.md", "Database Migration Job", Valid),
    ("examples/parallel-data-processing-job.yaml", "examples.md", "Parallel Data Processing Job", Valid),
    ("examples/indexed-job.yaml", "examples.md", "Indexed Job for Partitioned Processing", Valid),
    ("examples/backup-job-with-volume-mounts.yaml", "examples.md", "Backup Job with Volume Mounts", Valid),
    ("examples/etl-job.yaml", "examples.md", "ETL Job with Multiple Containers", Valid),
    ("examples/cleanup-job.yaml", "examples.md", "Cleanup Job", Valid),
    ("readme/example-usage.yaml", "README.md", "Example Usage", Valid),
    ("hack/manifest.yaml", "iac/hack/manifest.yaml", "the hack manifest", Valid),
    // The Terraform examples give targetCluster a clusterName and no clusterKind. Upstream's
    // own validator (buf.validate `cluster_kind in [...]`, applied because the field has no
    // presence) refuses that, as kjob does; its Terraform module just does not validate.
    ("tf_examples/basic-job.yaml", "iac/tf/examples.md", "Basic Job", Invalid(&["spec.targetCluster.clusterKind"])),
    ("tf_examples/database-migration-job.yaml", "iac/tf/examples.md", "Database Migration Job", Invalid(&["spec.targetCluster.clusterKind"])),
    ("tf_examples/parallel-processing-job.yaml", "iac/tf/examples.md", "Parallel Processing Job", Invalid(&["spec.targetCluster.clusterKind"])),
    ("tf_examples/indexed-job.yaml", "iac/tf/examples.md", "Indexed Job for Partitioned Processing", Invalid(&["spec.targetCluster.clusterKind"])),
    ("tf_examples/job-with-configmap-volume.yaml", "iac/tf/examples.md", "Job with ConfigMap Volume", Invalid(&["spec.targetCluster.clusterKind"])),
    ("tf_examples/job-with-private-registry.yaml", "iac/tf/examples.md", "Job with Private Registry", Invalid(&["spec.targetCluster.clusterKind"])),
    // KubernetesNamespace: apis/org/project_planton/provider/kubernetes/kubernetesnamespace/v1/.
    ("namespace_spec_test/01-valid-minimal.yaml", "kubernetesnamespace spec_test.go", "accepts a minimal valid spec", Valid),
    ("namespace_spec_test/02-valid-preset-small.yaml", "kubernetesnamespace spec_test.go", "accepts a spec with built-in profile SMALL", Valid),
    ("namespace_spec_test/03-valid-preset-large.yaml", "kubernetesnamespace spec_test.go", "accepts a spec with built-in profile LARGE", Valid),
    ("namespace_spec_test/04-valid-custom-quotas.yaml", "kubernetesnamespace spec_test.go", "accepts a spec with custom resource quotas", Valid),
    ("namespace_spec_test/05-valid-network-isolation.yaml", "kubernetesnamespace spec_test.go", "accepts a spec with network isolation enabled", Valid),
    ("namespace_spec_test/06-valid-istio.yaml", "kubernetesnamespace spec_test.go", "accepts a spec with Istio service mesh enabled", Valid),
    ("namespace_spec_test/07-valid-linkerd.yaml", "kubernetesnamespace spec_test.go", "accepts a spec with Linkerd service mesh enabled", Valid),
    ("namespace_spec_test/08-valid-pss-baseline.yaml", "kubernetesnamespace spec_test.go", "accepts a spec with pod security standard BASELINE", Valid),
    ("namespace_spec_test/09-valid-pss-restricted.yaml", "kubernetesnamespace spec_test.go", "accepts a spec with pod security standard RESTRICTED", Valid),
    ("namespace_spec_test/10-valid-labels-annotations.yaml", "kubernetesnamespace spec_test.go", "accepts a spec with labels and annotations", Valid),
    ("namespace_spec_test/11-invalid-empty-name.yaml", "kubernetesnamespace spec_test.go", "rejects empty namespace name", Invalid(&["spec.name"])),
    ("namespace_spec_test/12-invalid-uppercase-name.yaml", "kubernetesnamespace spec_test.go", "rejects namespace name with uppercase letters", Invalid(&["spec.name"])),
    ("namespace_spec_test/13-invalid-underscore-name.yaml", "kubernetesnamespace spec_test.go", "rejects namespace name with underscores", Invalid(&["spec.name"])),
    ("namespace_spec_test/14-invalid-leading-hyphen.yaml", "kubernetesnamespace spec_test.go", "rejects namespace name starting with hyphen", Invalid(&["spec.name"])),
    ("namespace_spec_test/15-invalid-trailing-hyphen.yaml", "kubernetesnamespace spec_test.go", "rejects namespace name ending with hyphen", Invalid(&["spec.name"])),
    ("namespace_spec_test/16-invalid-long-name.yaml", "kubernetesnamespace spec_test.go", "rejects namespace name longer than 63 characters", Invalid(&["spec.name"])),
    ("namespace_spec_test/17-invalid-mesh-without-type.yaml", "kubernetesnamespace spec_test.go", "rejects service mesh enabled without mesh type", Invalid(&["spec.serviceMeshConfig.meshType"])),
    ("namespace_spec_test/18-invalid-empty-cpu-requests.yaml", "kubernetesnamespace spec_test.go", "rejects empty CPU requests in custom quota", Invalid(&["spec.resourceProfile.custom.cpu.requests"])),
    ("namespace_spec_test/19-invalid-empty-cpu-limits.yaml", "kubernetesnamespace spec_test.go", "rejects empty CPU limits in custom quota", Invalid(&["spec.resourceProfile.custom.cpu.limits"])),
    ("namespace_spec_test/20-invalid-empty-memory-requests.yaml", "kubernetesnamespace spec_test.go", "rejects empty memory requests in custom quota", Invalid(&["spec.resourceProfile.custom.memory.requests"])),
    ("namespace_spec_test/21-invalid-empty-memory-limits.yaml", "kubernetesnamespace spec_test.go", "rejects empty memory limits in custom quota", Invalid(&["spec.resourceProfile.custom.memory.limits"])),
    // Upstream sets only pods: 0; services, configmaps and secrets (gte 1 as well) are 0 too.
    ("namespace_spec_test/22-invalid-zero-pods.yaml", "kubernetesnamespace spec_test.go", "rejects zero or negative pod count in object quotas", Invalid(&[
        "spec.resourceProfile.custom.objectCounts.pods",
        "spec.resourceProfile.custom.objectCounts.services",
        "spec.resourceProfile.custom.objectCounts.configmaps",
        "spec.resourceProfile.custom.objectCounts.secrets",
    ])),
    ("namespace_spec_test/23-invalid-empty-default-cpu-request.yaml", "kubernetesnamespace spec_test.go", "rejects empty default CPU request in default limits", Invalid(&["spec.resourceProfile.custom.defaultLimits.defaultCpuRequest"])),
    ("namespace_spec_test/24-invalid-long-revision-tag.yaml", "kubernetesnamespace spec_test.go", "rejects revision tag longer than 63 characters", Invalid(&["spec.serviceMeshConfig.revisionTag"])),
    ("namespace_examples/01-minimal-namespace.yaml", "kubernetesnamespace examples.md", "Example 1: Minimal Namespace", Valid),
    ("namespace_examples/02-development-namespace-with-small-resource-profile.yaml", "kubernetesnamespace examples.md", "Example 2: Development Namespace with Small Resource Profile", Valid),
    ("namespace_examples/03-production-namespace-with-large-profile-and-network-isolation.yaml", "kubernetesnamespace examples.md", "Example 3: Production Namespace with Large Profile and Network Isolation", Valid),
    ("namespace_examples/04-staging-namespace-with-istio-service-mesh.yaml", "kubernetesnamespace examples.md", "Example 4: Staging Namespace with Istio Service Mesh", Valid),
    ("namespace_examples/05-ephemeral-pr-environment-with-ttl.yaml", "kubernetesnamespace examples.md", "Example 5: Ephemeral PR Environment with TTL", Valid),
    ("namespace_examples/06-custom-resource-quotas-advanced.yaml", "kubernetesnamespace examples.md", "Example 6: Custom Resource Quotas (Advanced)", Valid),
    ("namespace_examples/07-linkerd-service-mesh-integration.yaml", "kubernetesnamespace examples.md", "Example 7: Linkerd Service Mesh Integration", Valid),
    ("namespace_examples/08-maximum-security-namespace.yaml", "kubernetesnamespace examples.md", "Example 8: Maximum Security Namespace", Valid),
    ("namespace_examples/09-multi-environment-setup-dev-environment.yaml", "kubernetesnamespace examples.md", "Example 9: Multi-Environment Setup (dev-environment.yaml)", Valid),
    ("namespace_examples/10-multi-environment-setup-staging-environment.yaml", "kubernetesnamespace examples.md", "Example 9: Multi-Environment Setup (staging-environment.yaml)", Valid),
    ("namespace_examples/11-multi-environment-setup-prod-environment.yaml", "kubernetesnamespace examples.md", "Example 9: Multi-Environment Setup (prod-environment.yaml)", Valid),
    ("namespace_hack/manifest.yaml", "kubernetesnamespace iac/hack/manifest.yaml", "the hack manifest", Valid),
];

/// Runs the `kjob validate` pipeline on `path`: `Ok` or the problem lines.
fn validate(path: &Path) -> Result<(), Vec<String>> {
    let state = tempfile::tempdir().unwrap();
    let store = Store::new(state.path());
    let path = path.to_str().unwrap();
    plan::load(path, &[])
        .and_then(plan::order)
        .and_then(|docs| plan::check_all(docs, &store, "kjob:test"))
        .map(|_| ())
        .map_err(|e| {
            if e.details.is_empty() {
                vec![e.message]
            } else {
                e.details
            }
        })
}

/// The property path of a problem line `FILE:LINE:COL: PATH: REASON`.
fn problem_path(line: &str) -> Option<String> {
    let mut parts = line.splitn(5, ": ");
    let _file_position = parts.next()?;
    let path = parts.next()?;
    Some(path.to_owned())
}

#[test]
fn every_upstream_case_behaves_as_upstream_says() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/upstream");
    let mut wrong = Vec::new();
    for (file, upstream, case, expect) in CASES {
        let outcome = validate(&dir.join(file));
        let ok = match (expect, &outcome) {
            (Valid, Ok(())) => true,
            (Invalid(paths), Err(lines)) => {
                let mut got: Vec<String> = lines.iter().filter_map(|l| problem_path(l)).collect();
                got.sort();
                let mut want: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
                want.sort();
                got == want
            }
            _ => false,
        };
        if !ok {
            wrong.push(format!(
                "{file} ({upstream}, {case:?}): expected {expect:?}, got {outcome:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_upstream_file_in_the_folder_is_in_the_table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/upstream");
    for sub in std::fs::read_dir(&dir).unwrap() {
        let sub = sub.unwrap().path();
        if !sub.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&sub).unwrap() {
            let file = file.unwrap().path();
            let relative = file
                .strip_prefix(&dir)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            if relative.ends_with(".yaml") && !relative.starts_with("stricter/") {
                assert!(
                    CASES.iter().any(|(f, ..)| *f == relative),
                    "{relative} is not in the table"
                );
            }
        }
    }
}

/// Where kjob is stricter than upstream, the error names the rule.
#[test]
fn stricter_rules_name_themselves() {
    let base = "apiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesJob\n";
    let cases = [
        (
            "metadata:\n  name: Bad_Name\nspec:\n  namespace: {value: ns}\n  image: {repo: busybox}\n",
            "metadata.name",
            "[rule: dns-label-name]",
        ),
        (
            "metadata: {}\nspec:\n  namespace: {value: ns}\n  image: {repo: busybox}\n",
            "metadata.name",
            "[rule: dns-label-name]",
        ),
        (
            "metadata:\n  name: a\nspec:\n  namespace: {value: ns}\n",
            "spec.image",
            "[rule: image-required]",
        ),
        (
            "metadata:\n  name: a\nspec:\n  namespace: {value: ns}\n  image: {tag: '1'}\n",
            "spec.image.repo",
            "[rule: image-required]",
        ),
        (
            "metadata:\n  name: a\nspec:\n  namespace: {value: ns}\n  image: {repo: busybox}\n  resources: {limits: {cpu: 100m}, requests: {cpu: 200m}}\n",
            "spec.resources.requests.cpu",
            "[rule: requests-within-limits]",
        ),
        (
            "metadata:\n  name: a\nspec:\n  namespace: {value: ns}\n  image: {repo: busybox}\n  completionMode: Indexed\n  completions: 0\n",
            "spec.completions",
            "[rule: indexed-needs-completions]",
        ),
        (
            "metadata:\n  name: a\nspec:\n  namespace: {value: Bad_NS}\n  image: {repo: busybox}\n",
            "spec.namespace.value",
            "[rule: dns-label-namespace]",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (text, path, rule)) in cases.into_iter().enumerate() {
        let file = dir.path().join(format!("{i}.yaml"));
        std::fs::write(&file, format!("{base}{text}")).unwrap();
        let lines = validate(&file).expect_err(text);
        assert!(
            lines
                .iter()
                .any(|l| problem_path(l).as_deref() == Some(path) && l.contains(rule)),
            "{text}: expected {path} with {rule}: {lines:#?}"
        );
    }
}
