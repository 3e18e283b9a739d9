//! FLOP model of occlusion: full re-inference of every occluded image against exact
//! incremental inference (Krypton, Nakandala, Kumar and Papakonstantinou, SIGMOD 2019),
//! and the plan that [`super::incremental`] executes.
//!
//! For a window, the changed region of each feature map follows from its inputs' through
//! the layer's kernel, stride and padding
//! ([`Slide::changed`](super::graph::Slide::changed)); at a residual add it is the bounding
//! box of both branches. Batched over windows, every window computes a crop of the same
//! size per map (the largest region over the windows, moved inside the map at the
//! borders), which reads the context ([`Slide::context`](super::graph::Slide::context))
//! around it from the base image's map with the window's crop laid over it. From the
//! block input where the remaining network costs less in full than in crops, each
//! window's map is materialised and the rest runs in full.
//!
//! FLOPs count a multiply-add as 2: a convolution costs `2 c_in k^2 c_out` per output
//! position, max pooling `k^2` and the add + ReLU 2 per output element; fc `2 in out`.

use super::graph::{Graph, Op, Span};

/// Changed region and crop of one node for every window.
#[derive(Debug, Clone)]
pub struct NodeRegions {
    /// Exact changed (rows, cols) per window.
    pub changed: Vec<(Span, Span)>,
    /// Crop (height, width), the same for every window.
    pub size: (i64, i64),
    /// Crop top-left per window, inside the map, holding the changed region.
    pub starts: Vec<(i64, i64)>,
}

/// What incremental occlusion does for a model, input size and window set.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Regions of nodes `0..=switch` (node 0: the windows).
    pub regions: Vec<NodeRegions>,
    /// The node (input or a block input) from which every window runs in full.
    pub switch: usize,
}

/// FLOPs of one layer over all windows of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerFlops {
    pub name: String,
    /// Output map (height, width).
    pub map: (i64, i64),
    /// Largest changed region over the windows (height, width).
    pub region: (i64, i64),
    /// Every window re-inferred in full.
    pub full: f64,
    /// Exact changed regions only (Krypton's lower bound, no switch).
    pub exact: f64,
    /// What the plan computes: fixed crops before the switch, full maps after it.
    pub planned: f64,
}

/// The FLOP table of occlusion for one image.
#[derive(Debug, Clone, PartialEq)]
pub struct FlopTable {
    pub layers: Vec<LayerFlops>,
    /// The name of the first layer computed in full (None: none).
    pub switch_layer: Option<String>,
    /// One full forward pass (the unoccluded image, paid by both).
    pub base: f64,
    pub windows: usize,
}

impl FlopTable {
    /// (full, exact, planned) totals including the base pass and the fc layer.
    pub fn totals(&self) -> (f64, f64, f64) {
        let sum = |f: fn(&LayerFlops) -> f64| self.layers.iter().map(f).sum::<f64>() + self.base;
        (sum(|l| l.full), sum(|l| l.exact), sum(|l| l.planned))
    }
}

/// FLOPs per output element of a layer.
fn per_element(graph: &Graph, i: usize) -> f64 {
    let l = &graph.layers[i];
    match l.op {
        Op::Conv { slide, c_in } => 2.0 * (c_in * slide.k * slide.k) as f64,
        Op::MaxPool { slide } => (slide.k * slide.k) as f64,
        Op::Add => 2.0,
    }
}

/// Changed regions and crops of every node for `windows` = (row, col, height, width).
pub fn regions(
    graph: &Graph,
    h: i64,
    w: i64,
    windows: &[(i64, i64, i64, i64)],
) -> Vec<NodeRegions> {
    let shapes = graph.shapes(h, w);
    let span = |a: i64, l: i64| Span {
        start: a,
        end: a + l,
    };
    let mut out = vec![crops(
        windows
            .iter()
            .map(|&(r, c, rh, cw)| (span(r, rh), span(c, cw)))
            .collect(),
        (h, w),
    )];
    for (i, l) in graph.layers.iter().enumerate() {
        let (_, ih, iw) = shapes[l.inputs[0]];
        let changed = (0..windows.len())
            .map(|k| match l.op {
                Op::Add => {
                    let (a, b) = (&out[l.inputs[0]].changed[k], &out[l.inputs[1]].changed[k]);
                    (a.0.hull(&b.0), a.1.hull(&b.1))
                }
                _ => {
                    let s = l.slide();
                    let (r, c) = out[l.inputs[0]].changed[k];
                    (s.changed(r, ih), s.changed(c, iw))
                }
            })
            .collect();
        let (_, oh, ow) = shapes[i + 1];
        out.push(crops(changed, (oh, ow)));
    }
    out
}

/// The common crop size (largest region, at least 1, at most the map) and each window's
/// crop start, moved inside the map.
fn crops(changed: Vec<(Span, Span)>, map: (i64, i64)) -> NodeRegions {
    let size = (
        changed
            .iter()
            .map(|c| c.0.len())
            .max()
            .unwrap_or(1)
            .clamp(1, map.0),
        changed
            .iter()
            .map(|c| c.1.len())
            .max()
            .unwrap_or(1)
            .clamp(1, map.1),
    );
    let starts = changed
        .iter()
        .map(|(r, c)| {
            (
                r.start.min(map.0 - size.0).max(0),
                c.start.min(map.1 - size.1).max(0),
            )
        })
        .collect();
    NodeRegions {
        changed,
        size,
        starts,
    }
}

/// Per layer (full, exact, crop) FLOPs over all windows of one image.
fn layer_costs(graph: &Graph, h: i64, w: i64, regs: &[NodeRegions]) -> Vec<(f64, f64, f64)> {
    let shapes = graph.shapes(h, w);
    let k = regs[0].changed.len() as f64;
    (0..graph.layers.len())
        .map(|i| {
            let (c, oh, ow) = shapes[i + 1];
            let e = per_element(graph, i) * c as f64;
            let r = &regs[i + 1];
            let exact: i64 = r
                .changed
                .iter()
                .map(|(a, b)| a.len().max(0) * b.len().max(0))
                .sum();
            (
                e * (oh * ow) as f64 * k,
                e * exact as f64,
                e * (r.size.0 * r.size.1) as f64 * k,
            )
        })
        .collect()
}

/// The nodes where the network can switch to full maps: the input, every block input and
/// layer4's output.
pub fn cuts(graph: &Graph) -> Vec<usize> {
    let mut cuts = vec![0];
    cuts.extend(&graph.block_inputs);
    cuts.push(graph.layers.len());
    cuts
}

/// The plan: crops up to the cut (input or block input node) that minimises the FLOPs of
/// crops before it plus full maps after it.
pub fn plan(graph: &Graph, h: i64, w: i64, windows: &[(i64, i64, i64, i64)]) -> Plan {
    let regs = regions(graph, h, w, windows);
    let costs = layer_costs(graph, h, w, &regs);
    let cost_with_switch = |s: usize| -> f64 {
        costs
            .iter()
            .enumerate()
            .map(|(i, c)| if i < s { c.2 } else { c.0 })
            .sum()
    };
    let switch = cuts(graph)
        .into_iter()
        .min_by(|&a, &b| {
            cost_with_switch(a)
                .total_cmp(&cost_with_switch(b))
                .then(a.cmp(&b))
        })
        .unwrap_or(0);
    plan_at(regs, switch)
}

/// The plan switching to full maps at `switch` (one of [`cuts`]), given the regions.
pub fn plan_at(mut regions: Vec<NodeRegions>, switch: usize) -> Plan {
    regions.truncate(switch + 1);
    Plan { regions, switch }
}

/// The FLOP table of occlusion with `windows` at `h` x `w` for `classes` outputs.
pub fn flop_table(
    graph: &Graph,
    h: i64,
    w: i64,
    windows: &[(i64, i64, i64, i64)],
    classes: i64,
) -> FlopTable {
    let shapes = graph.shapes(h, w);
    let regs = regions(graph, h, w, windows);
    let costs = layer_costs(graph, h, w, &regs);
    let switch = plan(graph, h, w, windows).switch;
    let k = windows.len() as f64;
    let fc = 2.0 * (graph.fc_in * classes) as f64;
    let mut layers: Vec<LayerFlops> = graph
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (_, oh, ow) = shapes[i + 1];
            let r = &regs[i + 1];
            let (full, exact, crop) = costs[i];
            LayerFlops {
                name: l.name.clone(),
                map: (oh, ow),
                region: (
                    r.changed.iter().map(|c| c.0.len()).max().unwrap_or(0),
                    r.changed.iter().map(|c| c.1.len()).max().unwrap_or(0),
                ),
                full,
                exact,
                planned: if i < switch { crop } else { full },
            }
        })
        .collect();
    layers.push(LayerFlops {
        name: "fc".into(),
        map: (1, 1),
        region: (1, 1),
        full: fc * k,
        exact: fc * k,
        planned: fc * k,
    });
    let base = costs.iter().map(|c| c.0).sum::<f64>() / k + fc;
    FlopTable {
        switch_layer: graph.layers.get(switch).map(|l| l.name.clone()),
        layers,
        base,
        windows: windows.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::OcclusionConfig;
    use crate::model::Arch;

    #[test]
    fn regions_of_the_paper_setting_by_hand() {
        let g = Graph::resnet(Arch::Resnet18, 2);
        let ws = OcclusionConfig::default().windows(100, 100);
        let r = regions(&g, 100, 100, &ws);
        // Window 0 (rows 0..15): conv1 rows 0..9, max pool 0..5 (o = 4 reads 7..=9);
        // layer1.0.conv1 (3x3) 0..6, conv2 0..7, add: hull with the skip (0..5) = 0..7.
        assert_eq!(r[1].changed[0].0, Span { start: 0, end: 9 });
        assert_eq!(r[2].changed[0].0, Span { start: 0, end: 5 });
        assert_eq!(r[3].changed[0].0, Span { start: 0, end: 6 });
        assert_eq!(r[5].changed[0].0, Span { start: 0, end: 7 });
        // Window 1 (rows 5..20): conv1 1..12, max pool 0..7 (7 rows), the largest at 100.
        assert_eq!(r[1].changed[1].0, Span { start: 1, end: 12 });
        assert_eq!(r[2].changed[1].0, Span { start: 0, end: 7 });
        assert_eq!(r[2].size, (7, 7));
        // The last window's crop is moved inside the 25-row map: 25 - 7 = 18.
        let last = ws.len() - 1;
        assert_eq!(r[2].changed[last].0, Span { start: 20, end: 25 });
        assert_eq!(r[2].starts[last], (18, 18));
        // layer4's output (4x4) is changed everywhere by a central window.
        let mid = ws.iter().position(|w| w.0 == 40 && w.1 == 40).unwrap();
        assert_eq!(r.last().unwrap().changed[mid].0, Span { start: 0, end: 4 });
    }

    #[test]
    fn plan_never_costs_more_than_full_and_exact_is_a_lower_bound() {
        let ws = OcclusionConfig::default().windows(100, 100);
        for arch in [Arch::Resnet18, Arch::Resnet101] {
            let g = Graph::resnet(arch, 2);
            let t = flop_table(&g, 100, 100, &ws, 10);
            let (full, exact, planned) = t.totals();
            assert!(
                exact <= planned && planned <= full,
                "{arch}: {exact} {planned} {full}"
            );
            assert!(
                full / planned > 1.0,
                "{arch}: incremental should pay in the stem"
            );
            let p = plan(&g, 100, 100, &ws);
            assert!(g.block_inputs.contains(&p.switch) || p.switch == g.layers.len());
            assert_eq!(p.regions.len(), p.switch + 1);
        }
        // A window covering the image changes every map: nothing to gain, plan is full.
        let g = Graph::resnet(Arch::Resnet18, 1);
        let p = plan(&g, 32, 32, &[(0, 0, 32, 32)]);
        assert_eq!(p.switch, 0);
    }
}
