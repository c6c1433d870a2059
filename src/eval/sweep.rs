//! Which search settings a sweep measures on a built index: each ef for a
//! graph index, each search_probe a posting-list index can take, the one
//! setting of an exact index. The CLI's `bench` and the app's Sweep button
//! both plan with [`plan_sweep`].

use crate::index::{AnnIndex, KnobKind, SearchKnob};

/// The settings to measure, and the probes left out.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepPlan {
    pub knobs: Vec<SearchKnob>,
    /// search_probe values above the index's list count.
    pub skipped_probes: Vec<usize>,
    /// The index's posting lists (0 for other kinds).
    pub lists: usize,
}

/// Plans a sweep of `index`: `efs` for a graph index, `probes` (those up to
/// its list count) for a posting-list index, the default for an exact one.
pub fn plan_sweep(index: &dyn AnnIndex, efs: &[SearchKnob], probes: &[usize]) -> SweepPlan {
    let lists = index.posting_lists().map_or(0, |h| h.list_count());
    match index.kind().knob() {
        Some(KnobKind::Ef) => SweepPlan {
            knobs: efs.to_vec(),
            skipped_probes: Vec::new(),
            lists,
        },
        Some(KnobKind::Probe) => {
            let (fit, skipped): (Vec<usize>, Vec<usize>) =
                probes.iter().partition(|&&p| p <= lists);
            SweepPlan {
                knobs: fit.into_iter().map(SearchKnob::Probe).collect(),
                skipped_probes: skipped,
                lists,
            }
        }
        None => SweepPlan {
            knobs: vec![SearchKnob::Default],
            skipped_probes: Vec::new(),
            lists,
        },
    }
}
