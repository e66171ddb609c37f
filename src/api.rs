//! Types generated from `proto/` by `build.rs`, and the descriptor pool they were built from.
//!
//! Nothing in this module is written by hand except the module tree that mirrors the proto
//! packages (prost refers to other packages through `super::` paths).

use std::sync::LazyLock;

use std::collections::HashSet;

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};

macro_rules! generated {
    ($file:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $file));
    };
}

#[allow(clippy::all, missing_docs, unused_qualifications, rustdoc::all)]
pub mod org {
    pub mod project_planton {
        pub mod provider {
            pub mod kubernetes {
                generated!("org.project_planton.provider.kubernetes.rs");
                pub mod kubernetesjob {
                    pub mod v1 {
                        generated!("org.project_planton.provider.kubernetes.kubernetesjob.v1.rs");
                    }
                }
                pub mod kubernetesnamespace {
                    pub mod v1 {
                        generated!(
                            "org.project_planton.provider.kubernetes.kubernetesnamespace.v1.rs"
                        );
                    }
                }
            }
        }
        pub mod shared {
            generated!("org.project_planton.shared.rs");
            pub mod cloudresourcekind {
                generated!("org.project_planton.shared.cloudresourcekind.rs");
            }
            pub mod foreignkey {
                pub mod v1 {
                    generated!("org.project_planton.shared.foreignkey.v1.rs");
                }
            }
            pub mod options {
                generated!("org.project_planton.shared.options.rs");
            }
            pub mod relationship {
                pub mod v1 {
                    generated!("org.project_planton.shared.relationship.v1.rs");
                }
            }
        }
    }
}

/// Pulumi's provider protocol (`pulumirpc`).
#[allow(clippy::all, missing_docs, unused_qualifications, rustdoc::all)]
pub mod pulumirpc {
    generated!("pulumirpc.rs");
}

/// gRPC's standard health service, which the engine may probe.
#[allow(clippy::all, missing_docs, unused_qualifications, rustdoc::all)]
pub mod grpc_health {
    generated!("grpc.health.v1.rs");
}

/// gRPC's error model, for status details.
#[allow(clippy::all, missing_docs, unused_qualifications, rustdoc::all)]
pub mod google_rpc {
    generated!("google.rpc.rs");
}

pub use org::project_planton::provider::kubernetes as k8s;
pub use org::project_planton::provider::kubernetes::kubernetesjob::v1 as job;
pub use org::project_planton::provider::kubernetes::kubernetesnamespace::v1 as namespace;
pub use org::project_planton::shared;
pub use org::project_planton::shared::foreignkey::v1 as foreignkey;

/// The encoded `FileDescriptorSet` of every proto under `proto/`.
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(DESCRIPTOR_SET).expect("the descriptor set built by build.rs decodes")
});

/// The descriptor pool of every proto under `proto/`, options and extensions included.
pub fn pool() -> &'static DescriptorPool {
    &POOL
}

/// Full proto name of the KubernetesJob envelope.
pub const KUBERNETES_JOB: &str =
    "org.project_planton.provider.kubernetes.kubernetesjob.v1.KubernetesJob";
/// Full proto name of the KubernetesNamespace envelope.
pub const KUBERNETES_NAMESPACE: &str =
    "org.project_planton.provider.kubernetes.kubernetesnamespace.v1.KubernetesNamespace";

/// The descriptor of a message in the pool; the names used by this crate are known to exist.
pub fn message(full_name: &str) -> MessageDescriptor {
    pool()
        .get_message_by_name(full_name)
        .unwrap_or_else(|| panic!("message {full_name} is compiled into the descriptor pool"))
}

/// The type a field's values have: its own, or for a map field its values' type.
pub fn element_kind(field: &FieldDescriptor) -> Kind {
    match field.kind() {
        Kind::Message(entry) if field.is_map() => entry.map_entry_value_field().kind(),
        kind => kind,
    }
}

/// The message type a field's values have ([`element_kind`]); none for scalars.
pub fn field_message(field: &FieldDescriptor) -> Option<MessageDescriptor> {
    match element_kind(field) {
        Kind::Message(desc) => Some(desc),
        _ => None,
    }
}

/// The full names of the pool's messages that are `wanted` or hold one somewhere below them
/// through message fields (singular, list or map values), cycles included: what a walk looking
/// for `wanted` messages must descend into, and every other message type it can skip.
pub fn messages_leading_to(wanted: impl Fn(&MessageDescriptor) -> bool) -> HashSet<String> {
    let all: Vec<MessageDescriptor> = pool().all_messages().collect();
    let mut found: HashSet<String> = all
        .iter()
        .filter(|m| wanted(m))
        .map(|m| m.full_name().to_owned())
        .collect();
    loop {
        let before = found.len();
        for message in &all {
            let leads = message
                .fields()
                .any(|f| field_message(&f).is_some_and(|sub| found.contains(sub.full_name())));
            if leads {
                found.insert(message.full_name().to_owned());
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_leading_to_follows_maps_lists_and_stops_elsewhere() {
        let value_or_ref = "org.project_planton.shared.foreignkey.v1.StringValueOrRef";
        let found = messages_leading_to(|m| m.full_name() == value_or_ref);
        assert!(found.contains(value_or_ref));
        assert!(found.contains(KUBERNETES_JOB), "spec.namespace is one");
        let spec_field = |name: &str| {
            message(KUBERNETES_JOB)
                .get_field_by_name("spec")
                .and_then(|f| field_message(&f))
                .and_then(|spec| spec.get_field_by_name(name))
                .and_then(|f| field_message(&f))
                .unwrap_or_else(|| panic!("spec.{name} is a message"))
        };
        // env.variables is a map of them, reached through the Env message.
        let env = spec_field("env");
        assert!(found.contains(env.full_name()), "{}", env.full_name());
        let image = spec_field("image");
        assert!(
            !found.contains(image.full_name()),
            "an image holds no reference"
        );
    }
}
