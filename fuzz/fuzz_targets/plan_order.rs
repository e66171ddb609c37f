//! Any dependency graph, cycles and self-references included, through `core::plan::topological`
//! (the order the CLI deploys a file's documents in): never a panic, and the answer is right:
//! an order is a permutation in which every dependency comes first, a cycle is a closed walk
//! along the graph's edges.
//!
//! Input: two bytes of node count (below 4096), one byte of rows to leave out (a missing row
//! is no dependency), then edges as four bytes each: from (taken modulo the count) and to (as
//! given: one past the count is out of range and ignored).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [a, b, missing, edges @ ..] = data else {
        return;
    };
    let count = usize::from(u16::from_le_bytes([*a, *b])) % 4096;
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); count];
    for edge in edges.chunks_exact(4) {
        if count == 0 {
            break;
        }
        let from = usize::from(u16::from_le_bytes([edge[0], edge[1]])) % count;
        let to = usize::from(u16::from_le_bytes([edge[2], edge[3]]));
        deps[from].push(to);
    }
    deps.truncate(count.saturating_sub(usize::from(*missing)));
    let dep = |i: usize| deps.get(i).map_or(&[][..], Vec::as_slice);
    match kjob::core::plan::topological(count, &deps) {
        Ok(order) => {
            assert_eq!(order.len(), count, "every node once");
            let mut position = vec![usize::MAX; count];
            for (at, &node) in order.iter().enumerate() {
                assert!(
                    node < count && position[node] == usize::MAX,
                    "a permutation"
                );
                position[node] = at;
            }
            for (node, &at) in position.iter().enumerate() {
                for &d in dep(node).iter().filter(|d| **d < count) {
                    assert!(position[d] < at, "{d} comes before {node}");
                }
            }
        }
        Err(cycle) => {
            assert!(cycle.len() >= 2, "a cycle has an edge: {cycle:?}");
            assert_eq!(cycle.first(), cycle.last(), "closed: {cycle:?}");
            for pair in cycle.windows(2) {
                assert!(dep(pair[0]).contains(&pair[1]), "{pair:?} is an edge");
            }
        }
    }
});
