//! The lifecycle runner: a resource through Create, a list of updates (each with the diff the
//! engine would get and what it would then do) and Delete, as `pulumi up` runs it, asserting
//! each step; tests add their own assertions on the diffs and on the state after each step.

use std::future::Future;

use futures::future::LocalBoxFuture;
use kjob::core::objects::ObjectKind;
use serde_json::Value;

use super::provider::{DiffSummary, Provider};

/// The diff a lifecycle step expects, and so what the engine does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectDiff {
    /// DIFF_NONE: nothing is done.
    None,
    /// DIFF_SOME without replaces: Update.
    Update,
    /// DIFF_SOME with replaces (delete before replace): Delete, then Create.
    Replace,
}

/// A resource in state: its name, ID and outputs (wire JSON).
#[derive(Debug, Clone)]
pub struct State {
    /// The resource's name.
    pub name: String,
    /// Its ID, `<namespace>/<job name>`.
    pub id: String,
    /// Its outputs.
    pub outputs: Value,
}

impl State {
    /// The namespace part of the ID.
    pub fn namespace(&self) -> &str {
        self.id.split_once('/').expect("namespace/name").0
    }

    /// The Job's name, from the ID.
    pub fn job_name(&self) -> &str {
        self.id.split_once('/').expect("namespace/name").1
    }
}

/// An assertion on the state after a step (may read the cluster).
pub type Check = Box<dyn FnOnce(State) -> LocalBoxFuture<'static, ()>>;
/// An assertion on a step's diff.
pub type DiffCheck = Box<dyn FnOnce(&DiffSummary)>;

fn boxed<F, Fut>(f: F) -> Check
where
    F: FnOnce(State) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    Box::new(move |state| Box::pin(f(state)))
}

/// One `up` with new inputs.
pub struct Step {
    /// The inputs as the program gives them (checked by the runner).
    pub inputs: Value,
    /// The diff expected against the state.
    pub expect: ExpectDiff,
    /// Refresh (Read) before the diff, as `up --refresh` does.
    pub refresh: bool,
    /// More assertions on the diff.
    pub diff: Option<DiffCheck>,
    /// Assertions on the state after the step.
    pub check: Option<Check>,
}

impl Step {
    /// A step to `inputs`, expecting `expect`.
    pub fn new(inputs: Value, expect: ExpectDiff) -> Step {
        Step {
            inputs,
            expect,
            refresh: false,
            diff: None,
            check: None,
        }
    }

    /// Refreshes first.
    pub fn refresh(mut self) -> Step {
        self.refresh = true;
        self
    }

    /// Also asserts `f` on the diff.
    pub fn diff(mut self, f: impl FnOnce(&DiffSummary) + 'static) -> Step {
        self.diff = Some(Box::new(f));
        self
    }

    /// Asserts `f` on the state after the step.
    pub fn check<F, Fut>(mut self, f: F) -> Step
    where
        F: FnOnce(State) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.check = Some(boxed(f));
        self
    }
}

/// A resource's life: Check, preview and Create, each update step, then Delete.
pub struct Lifecycle {
    /// The resource's name.
    pub name: String,
    /// The inputs it is created with (checked by the runner).
    pub create: Value,
    /// Seconds Create and Update may wait for the Job.
    pub timeout: f64,
    /// Assertions on the state after Create.
    pub created: Option<Check>,
    /// The updates, in order.
    pub updates: Vec<Step>,
}

impl Lifecycle {
    /// Resource `name` created with `create`, waiting up to 120 s.
    pub fn new(name: &str, create: Value) -> Lifecycle {
        Lifecycle {
            name: name.to_owned(),
            create,
            timeout: 120.0,
            created: None,
            updates: Vec::new(),
        }
    }

    /// Lets Create and Update wait `seconds` for the Job.
    pub fn timeout(mut self, seconds: f64) -> Lifecycle {
        self.timeout = seconds;
        self
    }

    /// Asserts `f` on the state after Create.
    pub fn created<F, Fut>(mut self, f: F) -> Lifecycle
    where
        F: FnOnce(State) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.created = Some(boxed(f));
        self
    }

    /// Adds an update step.
    pub fn step(mut self, step: Step) -> Lifecycle {
        self.updates.push(step);
        self
    }

    /// Runs it as the engine would and asserts each step: Create (after its preview, which
    /// has no ID); per step, Check, Diff of the expected kind, then nothing, Update (after its
    /// preview) or Delete and Create (after Create's preview); then Delete, after which the Job
    /// is gone. Returns the last state.
    pub async fn run(self, provider: &Provider) -> State {
        let Lifecycle {
            name,
            create,
            timeout,
            created,
            updates,
        } = self;
        let checked = provider.check_ok(&name, &create).await;
        let mut state = create_step(provider, &name, &checked, timeout).await;
        if let Some(check) = created {
            check(state.clone()).await;
        }
        for (i, step) in updates.into_iter().enumerate() {
            let what = format!("{name} step {}", i + 1);
            if step.refresh {
                let read = provider.read(&name, &state.id, Some(&state.outputs)).await;
                assert_eq!(read.id, state.id, "{what}: refresh keeps the resource");
                state.outputs = read.outputs;
            }
            let news = provider.check_ok(&name, &step.inputs).await;
            let diff = provider.diff(&name, &state.id, &state.outputs, &news).await;
            assert_eq!(diff.expect(), step.expect, "{what}: {diff:?}");
            if let Some(check) = step.diff {
                check(&diff);
            }
            match step.expect {
                ExpectDiff::None => {}
                ExpectDiff::Update => {
                    let preview = provider
                        .preview_update(&name, &state.id, &state.outputs, &news)
                        .await;
                    assert_eq!(preview["jobName"], news["metadata"]["name"], "{what}");
                    state.outputs = provider
                        .update(&name, &state.id, &state.outputs, &news, timeout)
                        .await
                        .unwrap_or_else(|f| panic!("{what}: Update: {f:?}"));
                }
                ExpectDiff::Replace => {
                    assert!(diff.delete_before_replace, "{what}: {diff:?}");
                    provider
                        .delete(&name, &state.id, &state.outputs)
                        .await
                        .unwrap_or_else(|f| panic!("{what}: Delete to replace: {f:?}"));
                    state = create_step(provider, &name, &news, timeout).await;
                }
            }
            if let Some(check) = step.check {
                check(state.clone()).await;
            }
        }
        provider
            .delete(&name, &state.id, &state.outputs)
            .await
            .unwrap_or_else(|f| panic!("{name}: Delete: {f:?}"));
        let job = super::obj(ObjectKind::Job, Some(state.namespace()), state.job_name());
        let live = provider
            .cluster()
            .get(&job)
            .await
            .expect("the cluster answers");
        assert!(live.is_none(), "{name}: the Job is gone after Delete");
        state
    }
}

/// Create's preview, then Create, asserting the ID.
async fn create_step(provider: &Provider, name: &str, inputs: &Value, timeout: f64) -> State {
    let (id, preview) = provider.preview_create(name, inputs).await;
    assert_eq!(id, "", "{name}: a preview has no ID");
    assert_eq!(preview["jobName"], inputs["metadata"]["name"], "{name}");
    let (id, outputs) = provider
        .create(name, inputs, timeout)
        .await
        .unwrap_or_else(|f| panic!("{name}: Create: {f:?}"));
    let expected = format!(
        "{}/{}",
        outputs["namespace"].as_str().unwrap_or_default(),
        outputs["jobName"].as_str().unwrap_or_default()
    );
    assert_eq!(id, expected, "{name}: the ID is <namespace>/<job name>");
    State {
        name: name.to_owned(),
        id,
        outputs,
    }
}
