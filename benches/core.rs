//! Pure-core latency per resource, no cluster: what one KubernetesJob costs the provider before
//! any network call. Run with `cargo bench --bench core` (or `scripts/bench`, which also collects
//! the results into `docs/bench/results.json`); `cargo bench --bench core -- --test` runs each
//! benchmark once as a smoke test.
//!
//! Input: `tests/golden/full.input.json` minus `apiVersion`/`kind`, i.e. the Pulumi inputs of a
//! realistic resource (namespace, ConfigMap, two env secrets, five volume mounts, every Job knob).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use kjob::kinds::job::render::RenderOptions;
use kjob::provider::{inputs, values};
use serde_json::{Value, json};

const NAME: &str = "nightly-etl";

/// The golden full manifest as provider inputs (no `apiVersion`/`kind`).
fn full_inputs() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/full.input.json");
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read full.input.json"))
            .expect("JSON");
    let map = doc.as_object_mut().expect("an object");
    map.remove("apiVersion");
    map.remove("kind");
    doc
}

fn options() -> RenderOptions {
    RenderOptions {
        docker_config_json: Some(r#"{"auths":{"registry.acme.example":{"auth":"dTpw"}}}"#.into()),
        stack: "kjob:bench".into(),
    }
}

fn checked_inputs(raw: &Value) -> Value {
    let checked = inputs::check(raw, NAME, &[]);
    assert!(
        checked.failures.is_empty(),
        "the golden input checks: {:?}",
        checked.failures
    );
    checked.inputs
}

fn bench_check(c: &mut Criterion) {
    let raw = full_inputs();
    c.bench_function("check/full", |b| {
        b.iter(|| inputs::check(black_box(&raw), NAME, &[]));
    });
    // What the gRPC Check handler adds around it: Struct -> JSON, reveal, JSON -> Struct.
    let wire = values::to_struct(&raw);
    c.bench_function("check/full+struct", |b| {
        b.iter(|| {
            let (news, _) = values::reveal(&values::from_struct(black_box(&wire)));
            let checked = inputs::check(&news, NAME, &[]);
            values::to_struct(&checked.inputs)
        });
    });
}

fn bench_diff(c: &mut Criterion) {
    let old = checked_inputs(&full_inputs());
    let mut in_place = full_inputs();
    in_place["spec"]["parallelism"] = json!(4);
    let in_place = checked_inputs(&in_place);
    let mut replace = full_inputs();
    replace["spec"]["image"]["tag"] = json!("2.4.2");
    let replace = checked_inputs(&replace);
    let unknown = values::is_unknown;
    for (label, new) in [
        ("none", &old),
        ("in-place", &in_place),
        ("replace", &replace),
    ] {
        let expected = kjob::core::diff::diff(&old, new, &[], &unknown);
        assert_eq!(expected.is_empty(), label == "none");
        assert_eq!(expected.replaces(), label == "replace");
        c.bench_function(&format!("diff/{label}"), |b| {
            b.iter(|| kjob::core::diff::diff(black_box(&old), black_box(new), &[], &unknown));
        });
    }
}

/// What a `pulumi up` of an unchanged resource costs the provider's pure core: Check of the
/// full golden inputs, then Diff against the same checked inputs (issue 13's budget: 100 µs).
fn bench_check_diff(c: &mut Criterion) {
    let raw = full_inputs();
    let old = checked_inputs(&raw);
    let unknown = values::is_unknown;
    c.bench_function("check+diff/full", |b| {
        b.iter(|| {
            let checked = inputs::check(black_box(&raw), NAME, &[]);
            kjob::core::diff::diff(black_box(&old), &checked.inputs, &[], &unknown)
        });
    });
}

/// Check's stages one by one over the golden manifest, to show where its time goes.
fn bench_check_stages(c: &mut Criterion) {
    use kjob::core::{codec, defaults, path::PropertyPath, refs};
    let raw = full_inputs();
    let root = PropertyPath::root();
    let desc = kjob::api::message(kjob::api::KUBERNETES_JOB);
    let (mut document, _) = inputs::manifest(&raw, NAME);
    inputs::coerce_scalars(&mut document, &desc);
    c.bench_function("stage/manifest", |b| {
        b.iter(|| {
            let (mut document, _) = inputs::manifest(black_box(&raw), NAME);
            inputs::coerce_scalars(&mut document, &desc);
            document
        });
    });
    c.bench_function("stage/decode", |b| {
        b.iter(|| codec::decode(&desc, black_box(&document), &root, None));
    });
    let decoded = codec::decode(&desc, &document, &root, None).message;
    c.bench_function("stage/defaults", |b| {
        b.iter_batched(
            || decoded.clone(),
            |mut m| defaults::apply(&mut m),
            criterion::BatchSize::SmallInput,
        );
    });
    let mut defaulted = decoded.clone();
    defaults::apply(&mut defaulted);
    c.bench_function("stage/resolve", |b| {
        b.iter_batched(
            || defaulted.clone(),
            |mut m| refs::resolve(&mut m, &root, "", &[]),
            criterion::BatchSize::SmallInput,
        );
    });
    c.bench_function("stage/to_typed", |b| {
        b.iter(|| codec::to_typed::<kjob::api::job::KubernetesJob>(black_box(&defaulted)));
    });
    let job: kjob::api::job::KubernetesJob = codec::to_typed(&defaulted);
    c.bench_function("stage/validate", |b| {
        b.iter(|| kjob::kinds::job::validate::validate(black_box(&job), &root));
    });
    c.bench_function("stage/encode", |b| {
        b.iter(|| codec::encode(black_box(&defaulted)));
    });
    let encoded = codec::encode(&defaulted);
    c.bench_function("stage/clone-document", |b| {
        b.iter(|| black_box(&encoded).clone());
    });
}

fn bench_render(c: &mut Criterion) {
    let raw = full_inputs();
    let checked = inputs::check(&raw, NAME, &[]);
    let options = options();
    c.bench_function("render/full", |b| {
        b.iter(|| {
            kjob::kinds::job::render::render(black_box(checked.checked.as_job().unwrap()), &options)
                .expect("renders")
        });
    });
    let rendered = kjob::kinds::job::render::render(checked.checked.as_job().unwrap(), &options)
        .expect("renders");
    assert_eq!(
        rendered.objects().len(),
        6,
        "namespace, configmap, 2 secrets, service account, job"
    );
    c.bench_function("render/full+objects", |b| {
        b.iter(|| {
            kjob::kinds::job::render::render(black_box(checked.checked.as_job().unwrap()), &options)
                .expect("renders")
                .objects()
        });
    });
}

criterion_group!(
    benches,
    bench_check,
    bench_diff,
    bench_check_diff,
    bench_check_stages,
    bench_render
);
criterion_main!(benches);
