//! The step DAG (petgraph): steps plus one gate barrier per phase, its order with ties broken by
//! file order, cycle paths for diagnostics, and DOT/Mermaid renderings. It knows plans only
//! through [`Shape`] (ids and `needs`) and labels its drawings with what the caller gives, so
//! it sits below the plan layer.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use fnv::FnvHashMap;
use petgraph::algo::tred;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::IntoNeighbors;
use petgraph::Direction;

/// What the graph reads of a plan: its phases and steps, their ids and their `needs`.
pub trait Shape {
    /// How many phases.
    fn phase_count(&self) -> usize;
    /// The id of phase `p`.
    fn phase_id(&self, p: usize) -> &str;
    /// The phases phase `p` needs.
    fn phase_needs(&self, p: usize) -> &[String];
    /// How many steps phase `p` has.
    fn step_count(&self, p: usize) -> usize;
    /// The id of step `i` of phase `p`.
    fn step_id(&self, p: usize, i: usize) -> &str;
    /// The steps step `i` of phase `p` needs.
    fn step_needs(&self, p: usize, i: usize) -> &[String];
}

/// How a drawing labels its clusters (one per phase) and nodes.
pub struct Labels<'a> {
    /// How many phases (clusters).
    pub phases: usize,
    /// The title of phase `p`'s cluster.
    pub cluster: &'a dyn Fn(usize) -> String,
    /// The text of a node.
    pub node: &'a dyn Fn(Node) -> String,
}

/// A node of the plan graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// Step `index` of phase `phase`.
    Step {
        /// The phase's index in the plan.
        phase: usize,
        /// The step's index in its phase.
        index: usize,
    },
    /// The barrier after every step of a phase, where its gates are evaluated.
    Gates {
        /// The phase's index in the plan.
        phase: usize,
    },
}

impl Node {
    /// How the node reads in a cycle path: the step id, or `phase <id>` for a barrier.
    pub fn name(&self, plan: &dyn Shape) -> String {
        match *self {
            Node::Step { phase, index } => plan.step_id(phase, index).to_string(),
            Node::Gates { phase } => format!("phase {}", plan.phase_id(phase)),
        }
    }
}

/// Dependency cycles; each is listed in `needs` order, first node repeated at the end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle ({} found)", cycles.len())]
pub struct CycleError {
    /// Every cycle found, one per strongly connected group of nodes.
    pub cycles: Vec<Vec<Node>>,
}

impl CycleError {
    /// `a -> b -> c -> a` for each cycle.
    pub fn describe(&self, plan: &dyn Shape) -> Vec<String> {
        self.cycles
            .iter()
            .map(|c| {
                c.iter()
                    .map(|n| n.name(plan))
                    .collect::<Vec<_>>()
                    .join(" -> ")
            })
            .collect()
    }
}

/// The plan's dependency graph; an edge `a -> b` means `a` runs before `b`.
#[derive(Debug, Clone)]
pub struct PlanGraph {
    graph: DiGraph<Node, ()>,
    /// FNV, not SipHash: `deps` looks every node up, and nodes are a plan's own indices.
    index: FnvHashMap<Node, NodeIndex>,
}

impl PlanGraph {
    /// Builds the graph; `needs` naming nothing are ignored here (validation reports them).
    pub fn build(plan: &dyn Shape) -> Result<PlanGraph, CycleError> {
        #[cfg(test)]
        BUILDS.with(|n| n.set(n.get() + 1));
        let nodes: usize = (0..plan.phase_count())
            .map(|p| plan.step_count(p) + 1)
            .sum();
        let mut graph = DiGraph::with_capacity(nodes, nodes * 2);
        let mut index = FnvHashMap::with_capacity_and_hasher(nodes, Default::default());
        let mut step_ids: FnvHashMap<&str, NodeIndex> =
            FnvHashMap::with_capacity_and_hasher(nodes, Default::default());
        let mut phase_ids: HashMap<&str, usize> = HashMap::new();
        // Node indices in file order: phase `p`'s steps from `first[p]`, then its barrier.
        let mut first = Vec::with_capacity(plan.phase_count());
        for p in 0..plan.phase_count() {
            phase_ids.entry(plan.phase_id(p)).or_insert(p);
            first.push(graph.node_count());
            for i in 0..plan.step_count(p) {
                let node = Node::Step { phase: p, index: i };
                let n = graph.add_node(node);
                step_ids.entry(plan.step_id(p, i)).or_insert(n);
                index.insert(node, n);
            }
            let gates = Node::Gates { phase: p };
            index.insert(gates, graph.add_node(gates));
        }
        let barrier = |p: usize| NodeIndex::new(first[p] + plan.step_count(p));
        for (p, &start) in first.iter().enumerate() {
            let mut deps: Vec<NodeIndex> = plan
                .phase_needs(p)
                .iter()
                .filter_map(|n| phase_ids.get(n.as_str()))
                .map(|&q| barrier(q))
                .collect();
            deps.sort();
            deps.dedup();
            // Each edge below is new (deduplicated phases, a step's own edges): `add_edge`, not
            // `update_edge`, whose scan of a barrier's edges made a 100-step phase quadratic.
            for &dep in &deps {
                graph.add_edge(dep, barrier(p), ());
            }
            for i in 0..plan.step_count(p) {
                let me = NodeIndex::new(start + i);
                graph.add_edge(me, barrier(p), ());
                for &dep in &deps {
                    graph.add_edge(dep, me, ());
                }
                for need in plan.step_needs(p, i) {
                    if let Some(&n) = step_ids.get(need.as_str()) {
                        // A step may name the same need twice: one edge.
                        graph.update_edge(n, me, ());
                    }
                }
            }
        }
        let built = PlanGraph { graph, index };
        let cycles = built.cycles();
        if cycles.is_empty() {
            Ok(built)
        } else {
            Err(CycleError { cycles })
        }
    }

    /// The graph of the phases `kept` (indices into this graph's phases, in order), renumbered
    /// `0..kept.len()`: what building it from a plan of only those phases gives, since a `needs`
    /// naming a phase or step left out is ignored there too.
    pub fn restrict(&self, kept: &[usize]) -> PlanGraph {
        let renumber = |node: Node| {
            let new = |p: usize| kept.iter().position(|&k| k == p);
            match node {
                Node::Step { phase, index } => new(phase).map(|phase| Node::Step { phase, index }),
                Node::Gates { phase } => new(phase).map(|phase| Node::Gates { phase }),
            }
        };
        let mut graph = DiGraph::new();
        let mut index = FnvHashMap::default();
        let mut old_to_new = HashMap::new();
        let mut nodes: Vec<(Node, NodeIndex)> = self
            .graph
            .node_indices()
            .filter_map(|n| Some((renumber(self.graph[n])?, n)))
            .collect();
        // File order: each kept phase's steps, then its barrier, as `build` adds them.
        nodes.sort_by_key(|(node, _)| match *node {
            Node::Step { phase, index } => (phase, 0, index),
            Node::Gates { phase } => (phase, 1, 0),
        });
        for (node, old) in nodes {
            let new = graph.add_node(node);
            index.insert(node, new);
            old_to_new.insert(old, new);
        }
        for e in self.graph.edge_indices() {
            let Some((a, b)) = self.graph.edge_endpoints(e) else {
                continue;
            };
            if let (Some(&a), Some(&b)) = (old_to_new.get(&a), old_to_new.get(&b)) {
                graph.update_edge(a, b, ());
            }
        }
        PlanGraph { graph, index }
    }

    /// One cycle per strongly connected group, in `needs` order, starting at its first step.
    fn cycles(&self) -> Vec<Vec<Node>> {
        let mut cycles: Vec<Vec<Node>> = petgraph::algo::tarjan_scc(&self.graph)
            .into_iter()
            .filter(|scc| scc.len() > 1 || self.graph.contains_edge(scc[0], scc[0]))
            .filter_map(|scc| {
                let start = scc
                    .iter()
                    .copied()
                    .min_by_key(|&n| (matches!(self.graph[n], Node::Gates { .. }), n.index()))?;
                self.cycle_through(start, &scc)
            })
            .collect();
        cycles.sort();
        cycles
    }

    /// The shortest path `start` needs ... needs `start`, staying inside `scc`.
    fn cycle_through(&self, start: NodeIndex, scc: &[NodeIndex]) -> Option<Vec<Node>> {
        let mut prev: HashMap<NodeIndex, NodeIndex> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(n) = queue.pop_front() {
            for dep in self.graph.neighbors_directed(n, Direction::Incoming) {
                if !scc.contains(&dep) {
                    continue;
                }
                if dep == start {
                    let mut path = vec![self.graph[start]];
                    let mut cur = n;
                    let mut back = vec![];
                    while cur != start {
                        back.push(self.graph[cur]);
                        cur = prev[&cur];
                    }
                    path.extend(back.into_iter().rev());
                    path.push(self.graph[start]);
                    return Some(path);
                }
                if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(dep) {
                    e.insert(n);
                    queue.push_back(dep);
                }
            }
        }
        None
    }

    /// Every node in a topological order, ties broken by file order.
    pub fn order(&self) -> Vec<Node> {
        let mut indegree: Vec<usize> = self
            .graph
            .node_indices()
            .map(|n| {
                self.graph
                    .neighbors_directed(n, Direction::Incoming)
                    .count()
            })
            .collect();
        let mut ready: BinaryHeap<Reverse<usize>> = indegree
            .iter()
            .enumerate()
            .filter(|(_, &d)| d == 0)
            .map(|(i, _)| Reverse(i))
            .collect();
        let mut order = Vec::with_capacity(indegree.len());
        while let Some(Reverse(i)) = ready.pop() {
            let n = NodeIndex::new(i);
            order.push(self.graph[n]);
            for next in self.graph.neighbors_directed(n, Direction::Outgoing) {
                indegree[next.index()] -= 1;
                if indegree[next.index()] == 0 {
                    ready.push(Reverse(next.index()));
                }
            }
        }
        order
    }

    /// The nodes `node` waits for directly, in file order.
    pub fn deps(&self, node: Node) -> Vec<Node> {
        let Some(&n) = self.index.get(&node) else {
            return Vec::new();
        };
        let mut deps: Vec<NodeIndex> = self
            .graph
            .neighbors_directed(n, Direction::Incoming)
            .collect();
        deps.sort();
        deps.into_iter().map(|d| self.graph[d]).collect()
    }

    /// Every node, in file order (each phase's steps, then its barrier).
    pub fn nodes(&self) -> Vec<Node> {
        self.graph.node_indices().map(|n| self.graph[n]).collect()
    }

    /// The graph in Graphviz DOT, one cluster per phase.
    pub fn to_dot(&self, labels: &Labels<'_>) -> String {
        let mut out = String::from("digraph plan {\n  rankdir=TB;\n  node [shape=box];\n");
        for p in 0..labels.phases {
            out.push_str(&format!(
                "  subgraph cluster_{p} {{\n    label=\"{}\";\n",
                dot_escape(&(labels.cluster)(p))
            ));
            for n in self.phase_nodes(p) {
                let shape = if matches!(self.graph[n], Node::Gates { .. }) {
                    ", shape=diamond"
                } else {
                    ""
                };
                out.push_str(&format!(
                    "    n{} [label=\"{}\"{shape}];\n",
                    n.index(),
                    dot_escape(&(labels.node)(self.graph[n]))
                ));
            }
            out.push_str("  }\n");
        }
        for e in self.sorted_edges() {
            out.push_str(&format!("  n{} -> n{};\n", e.0, e.1));
        }
        out.push_str("}\n");
        out
    }

    /// The graph as a Mermaid flowchart, one subgraph per phase.
    pub fn to_mermaid(&self, labels: &Labels<'_>) -> String {
        let mut out = String::from("flowchart TD\n");
        for p in 0..labels.phases {
            out.push_str(&format!(
                "  subgraph p{p}[\"{}\"]\n",
                mermaid_escape(&(labels.cluster)(p))
            ));
            for n in self.phase_nodes(p) {
                let text = mermaid_escape(&(labels.node)(self.graph[n])).replace('\n', "<br/>");
                match self.graph[n] {
                    Node::Gates { .. } => {
                        out.push_str(&format!("    n{}{{\"{text}\"}}\n", n.index()))
                    }
                    Node::Step { .. } => out.push_str(&format!("    n{}[\"{text}\"]\n", n.index())),
                }
            }
            out.push_str("  end\n");
        }
        for e in self.sorted_edges() {
            out.push_str(&format!("  n{} --> n{}\n", e.0, e.1));
        }
        out
    }

    fn phase_nodes(&self, phase: usize) -> Vec<NodeIndex> {
        self.graph
            .node_indices()
            .filter(|&n| match self.graph[n] {
                Node::Step { phase: p, .. } | Node::Gates { phase: p } => p == phase,
            })
            .collect()
    }

    /// The edges worth drawing: the transitive reduction (an edge implied by a longer path,
    /// such as a phase barrier to a step that also waits on an earlier step of its phase, is
    /// left out), sorted.
    fn sorted_edges(&self) -> Vec<(usize, usize)> {
        let all = || {
            self.graph
                .edge_indices()
                .filter_map(|e| self.graph.edge_endpoints(e))
                .map(|(a, b)| (a.index(), b.index()))
                .collect::<Vec<_>>()
        };
        let mut edges = match petgraph::algo::toposort(&self.graph, None) {
            Ok(topo) => {
                let (list, _) =
                    tred::dag_to_toposorted_adjacency_list::<_, u32>(&self.graph, &topo);
                let (reduction, _) = tred::dag_transitive_reduction_closure::<(), u32>(&list);
                reduction
                    .node_indices()
                    .flat_map(|a| (&reduction).neighbors(a).map(move |b| (a, b)))
                    .map(|(a, b)| (topo[a as usize].index(), topo[b as usize].index()))
                    .collect()
            }
            // Built graphs are acyclic; should one not be, draw every edge.
            Err(_) => all(),
        };
        edges.sort();
        edges
    }
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn mermaid_escape(text: &str) -> String {
    text.replace('"', "#quot;")
}

#[cfg(test)]
thread_local! {
    /// How many graphs this thread built: a plan is compiled with one.
    pub static BUILDS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A step or phase as the graph reads it: its id and its `needs`.
    type Named = (String, Vec<String>);

    /// A written step or phase: its id and its `needs`.
    type Written<'a> = (&'a str, &'a [&'a str]);

    /// A plan reduced to what the graph reads: phases with their steps.
    struct Toy(Vec<(Named, Vec<Named>)>);

    impl Shape for Toy {
        fn phase_count(&self) -> usize {
            self.0.len()
        }
        fn phase_id(&self, p: usize) -> &str {
            &self.0[p].0 .0
        }
        fn phase_needs(&self, p: usize) -> &[String] {
            &self.0[p].0 .1
        }
        fn step_count(&self, p: usize) -> usize {
            self.0[p].1.len()
        }
        fn step_id(&self, p: usize, i: usize) -> &str {
            &self.0[p].1[i].0
        }
        fn step_needs(&self, p: usize, i: usize) -> &[String] {
            &self.0[p].1[i].1
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// `[("a", &[], &[("s1", &["s2"])])]`-like literals.
    fn toy(phases: &[(&str, &[&str], &[Written<'_>])]) -> Toy {
        Toy(phases
            .iter()
            .map(|(id, needs, steps)| {
                let steps = steps
                    .iter()
                    .map(|(s, n)| (s.to_string(), strings(n)))
                    .collect();
                ((id.to_string(), strings(needs)), steps)
            })
            .collect())
    }

    #[test]
    fn order_follows_needs_then_file_order() {
        let p = toy(&[("a", &[], &[("s1", &["s3"]), ("s2", &[]), ("s3", &[])])]);
        let g = PlanGraph::build(&p).unwrap();
        let names: Vec<String> = g.order().iter().map(|n| n.name(&p)).collect();
        assert_eq!(names, ["s2", "s3", "s1", "phase a"]);
        assert_eq!(
            g.deps(Node::Step { phase: 0, index: 0 }),
            [Node::Step { phase: 0, index: 2 }]
        );
        assert_eq!(g.nodes().len(), 4);
    }

    /// A `needs` written twice, on a phase or a step, is one edge, as the graph was built
    /// before its edges were added without a scan.
    #[test]
    fn a_need_written_twice_is_one_edge() {
        let p = toy(&[
            ("a", &[], &[("s1", &[])]),
            ("b", &["a", "a"], &[("s2", &["s1", "s1"]), ("s3", &[])]),
        ]);
        let g = PlanGraph::build(&p).unwrap();
        let barrier_a = Node::Gates { phase: 0 };
        assert_eq!(
            g.deps(Node::Step { phase: 1, index: 0 }),
            [Node::Step { phase: 0, index: 0 }, barrier_a]
        );
        assert_eq!(g.deps(Node::Step { phase: 1, index: 1 }), [barrier_a]);
        assert_eq!(
            g.deps(Node::Gates { phase: 1 }),
            [
                barrier_a,
                Node::Step { phase: 1, index: 0 },
                Node::Step { phase: 1, index: 1 }
            ]
        );
    }

    #[test]
    fn a_phase_waits_for_the_barrier_of_the_phases_it_needs() {
        let p = toy(&[("b", &["a"], &[("x", &[])]), ("a", &[], &[("y", &[])])]);
        let g = PlanGraph::build(&p).unwrap();
        let names: Vec<String> = g.order().iter().map(|n| n.name(&p)).collect();
        assert_eq!(names, ["y", "phase a", "x", "phase b"]);
        assert!(g
            .deps(Node::Gates { phase: 0 })
            .contains(&Node::Gates { phase: 1 }));
    }

    #[test]
    fn step_cycles_show_the_whole_path() {
        let p = toy(&[(
            "a",
            &[],
            &[("s1", &["s2"]), ("s2", &["s3"]), ("s3", &["s1"])],
        )]);
        let err = PlanGraph::build(&p).unwrap_err();
        assert_eq!(err.describe(&p), ["s1 -> s2 -> s3 -> s1"]);
    }

    #[test]
    fn self_needs_is_a_cycle() {
        let p = toy(&[("a", &[], &[("s1", &["s1"])])]);
        assert_eq!(PlanGraph::build(&p).unwrap_err().describe(&p), ["s1 -> s1"]);
    }

    #[test]
    fn cycles_mixing_step_and_phase_needs_are_found() {
        let p = toy(&[
            ("a", &[], &[("s1", &["s2"])]),
            ("b", &["a"], &[("s2", &[])]),
        ]);
        assert_eq!(
            PlanGraph::build(&p).unwrap_err().describe(&p),
            ["s1 -> s2 -> phase a -> s1"]
        );
    }

    #[test]
    fn phase_cycles_are_found_even_without_steps() {
        let p = toy(&[("a", &["b"], &[]), ("b", &["a"], &[])]);
        assert_eq!(
            PlanGraph::build(&p).unwrap_err().describe(&p),
            ["phase a -> phase b -> phase a"]
        );
    }

    /// `s2` waits for `s1`, so the barrier's edge from `s1` is implied and not drawn; labels
    /// are the caller's, escaped for each format.
    #[test]
    fn dot_and_mermaid_cluster_by_phase() {
        let p = toy(&[("a", &[], &[("s1", &[]), ("s2", &["s1"])])]);
        let g = PlanGraph::build(&p).unwrap();
        let node = |n: Node| match n {
            Node::Step { phase, index } => format!("{}\nrun", p.step_id(phase, index)),
            Node::Gates { .. } => "1 gate".to_string(),
        };
        let labels = Labels {
            phases: 1,
            cluster: &|_| "a: Say \"hi\"".to_string(),
            node: &node,
        };
        assert_eq!(
            g.to_dot(&labels),
            "digraph plan {\n  rankdir=TB;\n  node [shape=box];\n  subgraph cluster_0 {\n    label=\"a: Say \\\"hi\\\"\";\n    n0 [label=\"s1\\nrun\"];\n    n1 [label=\"s2\\nrun\"];\n    n2 [label=\"1 gate\", shape=diamond];\n  }\n  n0 -> n1;\n  n1 -> n2;\n}\n"
        );
        assert_eq!(
            g.to_mermaid(&labels),
            "flowchart TD\n  subgraph p0[\"a: Say #quot;hi#quot;\"]\n    n0[\"s1<br/>run\"]\n    n1[\"s2<br/>run\"]\n    n2{\"1 gate\"}\n  end\n  n0 --> n1\n  n1 --> n2\n"
        );
    }
}
