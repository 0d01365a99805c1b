//! The README's schema list is the schema: the field table in `analytics/src/schema.rs` and the
//! list a user reads name the same fields in the same order.

use analytics::FIELDS;

#[test]
fn the_readme_lists_every_field_of_the_schema_in_order() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("\n## Event schema\n")
        .nth(1)
        .expect("the README has an `## Event schema` section");
    // The section opens with one sentence; the next paragraph is the list.
    let list = section
        .split("\n\n")
        .nth(1)
        .expect("a paragraph listing the fields");
    let listed: Vec<&str> = list
        .split(',')
        .map(|name| name.trim().trim_end_matches('.').trim_matches('`'))
        .collect();
    assert_eq!(
        listed, FIELDS,
        "README `## Event schema` against the schema table"
    );
}
