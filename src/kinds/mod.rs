//! The resource kinds kjob deploys, behind one interface: [`Kind::check`] runs a kind's whole
//! pipeline (decode, defaults, references, validation) into a [`Checked`], which renders to the
//! [`Rendered`] objects that the deploy path applies for their owner, says what its outputs are
//! and whether (and which) Job it runs. Callers never pick a pipeline by kind: the dispatch is
//! here, once. Pure.

pub mod job;
pub mod namespace;

use std::fmt;

use prost_reflect::MessageDescriptor;
use serde_json::{Value, json};

use crate::api;
use crate::api::job::KubernetesJob;
use crate::api::namespace::KubernetesNamespace;
use crate::core::codec::UnknownTest;
use crate::core::objects::{Object, ObjectKind, ObjectRef};
use crate::core::outcome::JobRef;
use crate::core::owner::Owner;
use crate::core::path::{Failure, PropertyPath};
use crate::core::refs::{ResourceKey, Source};

pub use job::render::RenderOptions;

/// The kinds of resource kjob deploys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `KubernetesNamespace`: one Namespace.
    KubernetesNamespace,
    /// `KubernetesJob`: a Job and what it needs.
    KubernetesJob,
}

impl Kind {
    /// Every kind, in the order they are listed in messages.
    pub const ALL: [Kind; 2] = [Kind::KubernetesJob, Kind::KubernetesNamespace];

    /// The canonical kind name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::KubernetesJob => "KubernetesJob",
            Kind::KubernetesNamespace => "KubernetesNamespace",
        }
    }

    /// Matches a kind name ignoring case, dashes and underscores.
    pub fn parse(text: &str) -> Option<Kind> {
        let wanted = normalize_kind(text);
        Kind::ALL
            .into_iter()
            .find(|k| normalize_kind(k.as_str()) == wanted)
    }

    /// The descriptor of the kind's envelope message.
    pub fn descriptor(self) -> MessageDescriptor {
        api::message(match self {
            Kind::KubernetesJob => api::KUBERNETES_JOB,
            Kind::KubernetesNamespace => api::KUBERNETES_NAMESPACE,
        })
    }

    /// The rules saying which input changes replace a resource of this kind.
    pub fn replace_rules(self) -> &'static [crate::core::diff::ReplaceRule] {
        crate::core::diff::rules_for(self.as_str())
    }

    /// The namespaced object kinds its resources render (what a sweep for leftovers lists).
    pub fn namespaced_objects(self) -> &'static [ObjectKind] {
        match self {
            Kind::KubernetesJob => &[
                ObjectKind::ConfigMap,
                ObjectKind::Secret,
                ObjectKind::ServiceAccount,
                ObjectKind::Job,
            ],
            Kind::KubernetesNamespace => &[
                ObjectKind::ResourceQuota,
                ObjectKind::LimitRange,
                ObjectKind::NetworkPolicy,
            ],
        }
    }

    /// Whether resources of this kind run a Job (and so have an outcome).
    pub fn runs_job(self) -> bool {
        self == Kind::KubernetesJob
    }

    /// Runs the kind's pipeline over a manifest document (`{apiVersion, kind, metadata, spec}`).
    /// `root` prefixes every failure path; `unknown` recognises Pulumi's unknown placeholders;
    /// references resolve through `sources`, in order.
    pub fn check(
        self,
        document: &Value,
        root: &PropertyPath,
        unknown: Option<UnknownTest<'_>>,
        sources: &[&dyn Source],
    ) -> Checked {
        // The pipelines' results are moved apart, not copied: a copy of the document was a
        // measurable part of a provider Check.
        match self {
            Kind::KubernetesJob => {
                let job::Checked {
                    job,
                    document,
                    unknowns,
                    failures,
                } = job::check(document, root, unknown, sources);
                Checked {
                    kind: self,
                    document,
                    outputs: json!({
                        "namespace": job::namespace_of(&job).unwrap_or_default(),
                        "jobName": job::job_name_of(&job),
                    }),
                    failures,
                    unknowns,
                    spec: Spec::Job(Box::new(job)),
                }
            }
            Kind::KubernetesNamespace => {
                let checked = namespace::check(document, root, unknown, sources);
                let outputs = namespace::outputs(&checked);
                let namespace::Checked {
                    namespace,
                    document,
                    unknowns,
                    failures,
                } = checked;
                Checked {
                    kind: self,
                    document,
                    outputs,
                    failures,
                    unknowns,
                    spec: Spec::Namespace(Box::new(namespace)),
                }
            }
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind name lower-cased, without dashes and underscores.
pub fn normalize_kind(text: &str) -> String {
    text.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Debug, Clone)]
enum Spec {
    Job(Box<KubernetesJob>),
    Namespace(Box<KubernetesNamespace>),
}

/// A checked manifest of any kind.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Its kind.
    pub kind: Kind,
    /// The manifest with defaults applied and every resolvable reference replaced by its value
    /// (JSON names; secret values in clear).
    pub document: Value,
    /// Its outputs (`status.outputs`, JSON names).
    pub outputs: Value,
    /// Every problem, each at its path; empty when it can be deployed.
    pub failures: Vec<Failure>,
    /// Paths that were unknown placeholders (Pulumi preview only).
    pub unknowns: Vec<PropertyPath>,
    spec: Spec,
}

impl Checked {
    /// Whether the manifest can be deployed as it is.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// The typed KubernetesJob (defaults applied, references resolved), for a KubernetesJob.
    pub fn as_job(&self) -> Option<&KubernetesJob> {
        match &self.spec {
            Spec::Job(checked) => Some(checked),
            Spec::Namespace(_) => None,
        }
    }

    /// Renders the objects (the caller has made sure there are no failures), each stamped with
    /// the owner identity of this resource in `options.stack` ([`Owner::stamp`]).
    pub fn render(&self, options: &RenderOptions) -> Result<Rendered, String> {
        let owner = Owner::new(&key_of(self.kind, &self.document), &options.stack);
        let mut rendered = match &self.spec {
            Spec::Job(job) => {
                let rendered = job::render::render(job, options).map_err(|e| e.to_string())?;
                let ttl = rendered
                    .job
                    .spec
                    .as_ref()
                    .and_then(|s| s.ttl_seconds_after_finished)
                    .is_some();
                Rendered {
                    kind: self.kind,
                    owner,
                    objects: rendered.objects(),
                    home: Some(rendered.namespace.clone()),
                    job: Some(JobRef {
                        namespace: rendered.namespace.clone(),
                        name: rendered.job_name.clone(),
                        ttl,
                    }),
                }
            }
            Spec::Namespace(namespace) => Rendered {
                kind: self.kind,
                owner,
                objects: namespace::render(namespace),
                home: None,
                job: None,
            },
        };
        for object in &mut rendered.objects {
            rendered.owner.stamp(&mut object.body);
        }
        Ok(rendered)
    }
}

/// What one resource deploys.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The resource's kind.
    pub kind: Kind,
    /// Who its objects belong to (stamped on each).
    pub owner: Owner,
    /// The objects, in apply order.
    pub objects: Vec<Object>,
    /// The namespace the objects live in, for a kind whose objects live in one: an existing
    /// Namespace of that name that is not ours is used as it is, and it is never pruned.
    pub home: Option<String>,
    /// The Job it runs, if it runs one.
    pub job: Option<JobRef>,
}

impl Rendered {
    /// The objects' identities, in apply order.
    pub fn ids(&self) -> Vec<ObjectRef> {
        self.objects.iter().map(|o| o.id.clone()).collect()
    }

    /// The namespace in which to look for objects of this resource that an earlier, failed run
    /// left behind: its home, or for a KubernetesNamespace the Namespace it renders.
    pub fn sweep_namespace(&self) -> Option<String> {
        self.home.clone().or_else(|| {
            self.objects
                .iter()
                .find(|o| {
                    o.id.kind == ObjectKind::Namespace && self.kind == Kind::KubernetesNamespace
                })
                .map(|o| o.id.name.clone())
        })
    }

    /// The same without its Job (a Job that ran and that Kubernetes collected is not created
    /// again under run-once; the rest is still applied).
    pub fn without_job(&self) -> Rendered {
        Rendered {
            objects: self
                .objects
                .iter()
                .filter(|o| o.id.kind != ObjectKind::Job)
                .cloned()
                .collect(),
            ..self.clone()
        }
    }
}

/// The resource key of a checked document.
pub fn key_of(kind: Kind, document: &Value) -> ResourceKey {
    let metadata = document.get("metadata");
    let text = |k: &str| {
        metadata
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    ResourceKey {
        kind: kind.as_str().to_owned(),
        env: text("env"),
        name: text("name"),
    }
}

/// The object bodies a stored manifest of the named kind renders to (for comparing what was
/// applied with what would be); nothing when it cannot be rendered.
pub fn bodies(kind: &str, manifest: &Value) -> Vec<Object> {
    let Some(kind) = Kind::parse(kind) else {
        return Vec::new();
    };
    kind.check(manifest, &PropertyPath::root(), None, &[])
        .render(&RenderOptions::default())
        .map(|r| r.objects)
        .unwrap_or_default()
}
