//! `annscope search`: one JSON line per query against a saved index.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::args::check_k;
use super::io::{open_dataset, with_progress};
use crate::index::{load_index, param_spec, KnobKind, SearchKnob, SearchParams};
use crate::progress::WorkContext;

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// An index file written by `annscope build` (HNSW or HFresh).
    #[arg(long)]
    pub index_file: PathBuf,
    /// Query vectors.
    #[arg(long)]
    pub queries: PathBuf,
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// HNSW: search list size; -1 is dynamic ef (default: dynamic).
    #[arg(long, allow_negative_numbers = true)]
    pub ef: Option<i64>,
    /// HFresh: posting lists probed (default: the index's own).
    #[arg(long)]
    pub search_probe: Option<usize>,
}

/// One line of `annscope search`: fields in this order.
#[derive(serde::Serialize)]
struct QueryLine<'a> {
    query: usize,
    ids: &'a [u32],
    distances: &'a [f32],
}

pub(super) fn run(a: &SearchArgs) -> anyhow::Result<()> {
    check_k(a.k)?;
    let path = a.index_file.clone();
    let (_, index) = with_progress("load", move |_| load_index(&path))?;
    let knob = match (index.kind().knob(), a.ef, a.search_probe) {
        // -1 (or no --ef) is dynamic ef with the bounds the index was saved with.
        (Some(KnobKind::Ef), Some(ef), None) => {
            let stored = index.graph().map(|h| h.dynamic_ef()).unwrap_or_default();
            SearchKnob::from_ef_arg(ef, stored)?
        }
        (Some(KnobKind::Probe), None, Some(p)) => {
            param_spec::SEARCH_PROBE.check_flag("--search-probe", p)?;
            SearchKnob::Probe(p)
        }
        (_, None, None) => SearchKnob::Default,
        (kind, _, _) => anyhow::bail!(
            "{} holds an index of kind {}: it takes {}",
            a.index_file.display(),
            index.kind().name(),
            match kind {
                Some(KnobKind::Ef) => "--ef",
                Some(KnobKind::Probe) => "--search-probe",
                None => "no search setting",
            }
        ),
    };
    let queries = open_dataset(&a.queries, index.metric())?;
    if queries.dim() != index.dim() {
        anyhow::bail!(
            "dimension mismatch: {} has dimension {}, but the index {} has {}",
            queries.display_name(),
            queries.dim(),
            a.index_file.display(),
            index.dim()
        );
    }
    queries.validate(&WorkContext::detached())?;
    let params = SearchParams::new(a.k).with_knob(knob);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (i, q) in queries.vectors().rows().enumerate() {
        let r = index.search(q, &params)?;
        let line = QueryLine {
            query: i,
            ids: &r.ids,
            distances: &r.distances,
        };
        writeln!(out, "{}", serde_json::to_string(&line)?)?;
    }
    out.flush()?;
    Ok(())
}
