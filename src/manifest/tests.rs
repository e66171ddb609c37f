//! Tests of manifest loading: positions, envelopes, strictness.
use super::*;

const JOB: &str = "\
apiVersion: kubernetes.project-planton.org/v1
kind: kubernetes-job
metadata:
  name: migrate
spec:
  namespace:
    value: batch
  image:
    repo: busybox
  restart_policy: Always
  env:
    variables:
      FOO:
        value: x
  command:
    - sh
    - -c
";

#[test]
fn kinds_match_ignoring_case_dashes_and_underscores() {
    for text in [
        "KubernetesJob",
        "kubernetes-job",
        "KUBERNETES_JOB",
        "kubernetesjob",
        "Kubernetes_Job",
    ] {
        assert_eq!(Kind::parse(text), Some(Kind::KubernetesJob), "{text}");
    }
    assert_eq!(
        Kind::parse("kubernetes-namespace"),
        Some(Kind::KubernetesNamespace)
    );
    assert_eq!(Kind::parse("KubernetesJobs"), None);
    assert_eq!(Kind::parse("CronJob"), None);
}

#[test]
fn parses_documents_and_canonicalises_the_kind() {
    let text = format!(
        "{JOB}---\n---\napiVersion: {API_VERSION}\nkind: KUBERNETES_NAMESPACE\nmetadata: {{name: team}}\nspec: {{name: team}}\n"
    );
    let docs = parse("f.yaml", &text).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].kind, Kind::KubernetesJob);
    assert_eq!(docs[0].value["kind"], "KubernetesJob");
    assert_eq!(docs[0].name(), "migrate");
    assert_eq!(docs[1].kind, Kind::KubernetesNamespace);
    assert_eq!(docs[1].index, 1);
    assert_eq!(docs[1].key().to_string(), "KubernetesNamespace \"team\"");
}

#[test]
fn locates_paths_in_either_case() {
    let docs = parse("job.yaml", JOB).unwrap();
    let at = |p: PropertyPath| match docs[0].origin(&p) {
        Origin::File(p) => (p.line, p.column),
        Origin::Set(_) => panic!(),
    };
    let spec = PropertyPath::root().field("spec");
    assert_eq!(at(spec.field("restartPolicy")), (10, 19));
    assert_eq!(at(spec.field("env").field("variables").key("FOO")), (13, 7));
    assert_eq!(
        at(spec
            .field("env")
            .field("variables")
            .key("FOO")
            .field("value")),
        (14, 16)
    );
    assert_eq!(at(spec.field("command").index(1)), (17, 7));
    // A missing leaf points at its nearest parent.
    assert_eq!(at(spec.field("image").field("tag")), (8, 3));
    let failure = Failure::new(
        spec.field("restartPolicy"),
        "must be one of: OnFailure, Never; got \"Always\"",
    );
    assert_eq!(
        docs[0].locate(&failure).to_string(),
        "job.yaml:10:19: spec.restartPolicy: must be one of: OnFailure, Never; got \"Always\""
    );
}

#[test]
fn overridden_paths_point_at_the_override() {
    let mut docs = parse("job.yaml", JOB).unwrap();
    let path = PropertyPath::root().field("spec").field("parallelism");
    docs[0].record_override(path.clone(), "spec.parallelism=x");
    assert_eq!(
        docs[0].origin(&path),
        Origin::Set("spec.parallelism=x".into())
    );
    let f = docs[0].locate(&Failure::new(path, "bad"));
    assert_eq!(
        f.to_string(),
        "job.yaml: --set spec.parallelism=x: spec.parallelism: bad"
    );
}

#[test]
fn syntax_errors_have_positions() {
    let err = parse("bad.yaml", "a: 1\nb: [\n").unwrap_err();
    assert_eq!(err.len(), 1);
    assert!(
        matches!(
            err[0].origin,
            Some(Origin::File(Position { line: 2 | 3, .. }))
        ),
        "{err:?}"
    );
    assert!(err[0].to_string().starts_with("bad.yaml:"), "{}", err[0]);
    let err = parse("dup.yaml", "a: 1\na: 2\n").unwrap_err();
    assert_eq!(
        err[0].to_string(),
        "dup.yaml:2:1: invalid YAML: duplicate mapping key: a, set DuplicateKeyPolicy in Options if acceptable"
    );
}

#[test]
fn envelope_errors() {
    let err = parse("e.yaml", "apiVersion: v1\nkind: Deployment\nspec: {}\n").unwrap_err();
    let text: Vec<String> = err.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 3, "{text:#?}");
    assert!(
        text[0]
            .starts_with("e.yaml:1:13: apiVersion: must be \"kubernetes.project-planton.org/v1\""),
        "{}",
        text[0]
    );
    assert!(
        text[1].starts_with("e.yaml:2:7: kind: unknown kind \"Deployment\""),
        "{}",
        text[1]
    );
    assert!(
        text[2].starts_with("e.yaml:1:1: metadata: is required"),
        "{}",
        text[2]
    );
    assert!(
        parse("empty.yaml", "\n---\n").unwrap_err()[0]
            .message
            .contains("no manifest")
    );
    assert!(
        parse("s.yaml", "just a string\n").unwrap_err()[0]
            .message
            .contains("must be a mapping")
    );
}

#[test]
fn scalars_keep_their_types() {
    let docs = parse("t.yaml", &format!("apiVersion: {API_VERSION}\nkind: KubernetesJob\nmetadata: {{name: a}}\nspec: {{parallelism: 3, suspend: true, tag: '3', x: 1.5, n: null}}\n")).unwrap();
    let spec = &docs[0].value["spec"];
    assert_eq!(spec["parallelism"], 3);
    assert_eq!(spec["suspend"], true);
    assert_eq!(spec["tag"], "3");
    assert_eq!(spec["x"], 1.5);
    assert!(spec["n"].is_null());
}
