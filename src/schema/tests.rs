//! Tests of the shared descriptor walk (the catalog's names, comment tidying), and [`refs`], the
//! reference collector the tests of both documents use.

use super::*;

/// Appends every `$ref` string under `value` to `out`.
fn walk_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push(v.as_str().expect("refs are strings").to_owned());
                } else {
                    walk_refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk_refs(v, out)),
        _ => {}
    }
}

/// Every `$ref` string under `value`, in document order.
pub(super) fn refs(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_refs(value, &mut out);
    out
}

/// Neither document needs a package-qualified type name.
#[test]
fn short_names_do_not_collide() {
    let pulumi = catalog(&[api::message(JOB_SPEC), api::message(METADATA)]);
    assert!(
        pulumi.collisions.is_empty(),
        "short names shared by several types: {:?}",
        pulumi.collisions
    );
    let manifest = catalog(&[api::message(api::KUBERNETES_JOB)]);
    assert!(
        manifest.collisions.is_empty(),
        "short names shared by several types: {:?}",
        manifest.collisions
    );
}

/// Comments are tidied into paragraphs and qualified names are PascalCase.
#[test]
fn comments_are_joined_into_paragraphs() {
    assert_eq!(tidy(" a\n b\n\n c\n"), "a b\n\nc");
    assert_eq!(
        qualified_name(&Named::Message(api::message(METADATA))),
        "SharedCloudResourceMetadata"
    );
}
