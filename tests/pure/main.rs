//! Tests that need no cluster, in one binary: the layout's rules, golden rendering and the
//! generated schemas' freshness.

mod architecture;
mod large;
mod render_golden;
mod schema_fresh;
mod upstream;
