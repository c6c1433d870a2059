//! What a search is tuned by, typed: a fixed ef, Weaviate's dynamic ef, or
//! HFresh's search_probe ([`SearchKnob`]), and the one place each becomes
//! the value a search runs with ([`SearchKnob::effective_ef`],
//! [`SearchKnob::effective_probe`]).
//!
//! The ef chain: the app's ef slider and the CLI's `--ef` make a
//! `SearchKnob` (`-1` on the command line is dynamic ef); it travels in
//! [`super::SearchParams`] to the index, which resolves it here, once; the
//! search-path view and the bench report resolve it with the same call.

use serde::{Deserialize, Serialize};

use super::hnsw::DynamicEf;
use super::ParamMap;
use crate::error::{Error, Result};

/// Which knob a kind of index turns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KnobKind {
    /// HNSW's candidate list size.
    Ef,
    /// Posting lists probed per query.
    Probe,
}

impl KnobKind {
    /// Its name in reports, charts and the bench JSON.
    pub fn name(self) -> &'static str {
        match self {
            KnobKind::Ef => "ef",
            KnobKind::Probe => "search_probe",
        }
    }

    /// The knob set to a fixed `value`.
    pub fn at(self, value: usize) -> SearchKnob {
        match self {
            KnobKind::Ef => SearchKnob::Ef(value),
            KnobKind::Probe => SearchKnob::Probe(value),
        }
    }

    /// Its range, default, usual values and help.
    pub fn spec(self) -> &'static super::param_spec::ParamSpec<usize> {
        match self {
            KnobKind::Ef => &super::param_spec::EF,
            KnobKind::Probe => &super::param_spec::SEARCH_PROBE,
        }
    }
}

/// What one search is tuned by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SearchKnob {
    /// The index's own default: an HNSW's stored dynamic ef, HFresh's
    /// build-time search_probe.
    #[default]
    Default,
    /// HNSW's candidate list size, raised to k when smaller.
    Ef(usize),
    /// Weaviate's dynamic ef: from k, between a floor and a ceiling.
    DynamicEf(DynamicEf),
    /// Posting lists probed per query.
    Probe(usize),
}

impl SearchKnob {
    /// The knob a command-line `--ef` names: a positive list size, or -1
    /// for dynamic ef with `dynamic`'s bounds.
    pub fn from_ef_arg(ef: i64, dynamic: DynamicEf) -> Result<SearchKnob> {
        match ef {
            -1 => Ok(SearchKnob::DynamicEf(dynamic)),
            e if e >= 1 => Ok(SearchKnob::Ef(e as usize)),
            e => Err(Error::InvalidParameter(format!(
                "ef = {e}: use a positive value, or -1 for dynamic ef"
            ))),
        }
    }

    /// The fixed value a chart plots it at (None for default or dynamic ef).
    pub fn value(self) -> Option<usize> {
        match self {
            SearchKnob::Ef(v) | SearchKnob::Probe(v) => Some(v),
            SearchKnob::Default | SearchKnob::DynamicEf(_) => None,
        }
    }

    /// The ef an HNSW search runs with for top-`k`: a fixed value raised
    /// to k, or dynamic (the knob's bounds, or the index's `stored` ones
    /// for [`SearchKnob::Default`]).
    pub fn effective_ef(self, k: usize, stored: &DynamicEf) -> Result<usize> {
        match self {
            SearchKnob::Default => Ok(stored.ef_for(k)),
            SearchKnob::DynamicEf(d) => Ok(d.ef_for(k)),
            SearchKnob::Ef(0) => Err(Error::InvalidParameter(
                "ef = 0: use a positive value, or -1 for dynamic ef".into(),
            )),
            SearchKnob::Ef(e) => Ok(e.max(k)),
            SearchKnob::Probe(_) => Err(Error::InvalidParameter(
                "search_probe tunes posting-list indexes; an HNSW search takes ef".into(),
            )),
        }
    }

    /// The posting lists a search probes (the index's `default` unless set).
    pub fn effective_probe(self, default: usize) -> Result<usize> {
        match self {
            SearchKnob::Default => Ok(default),
            SearchKnob::Probe(0) => Err(Error::InvalidParameter(
                "search_probe must be at least 1".into(),
            )),
            SearchKnob::Probe(p) => Ok(p),
            SearchKnob::Ef(_) | SearchKnob::DynamicEf(_) => Err(Error::InvalidParameter(
                "ef tunes graph indexes; a posting-list search takes search_probe".into(),
            )),
        }
    }

    /// The knob as a bench report shows it: `ef` (-1 when dynamic) with
    /// `ef_effective` and the dynamic bounds, or `search_probe`.
    pub fn report(self, k: usize) -> ParamMap {
        let mut shown = ParamMap::new();
        match self {
            SearchKnob::Default => {}
            SearchKnob::Probe(p) => {
                shown.insert("search_probe".into(), p.into());
            }
            SearchKnob::Ef(e) => {
                shown.insert("ef".into(), e.into());
                shown.insert("ef_effective".into(), e.max(k).into());
            }
            SearchKnob::DynamicEf(d) => {
                shown.insert("ef".into(), (-1).into());
                shown.insert("ef_effective".into(), d.ef_for(k).into());
                shown.insert("dynamic_ef_min".into(), d.min.into());
                shown.insert("dynamic_ef_max".into(), d.max.into());
                shown.insert("dynamic_ef_factor".into(), d.factor.into());
            }
        }
        shown
    }

    /// The knob as a report shows it for `index`: annscope's keys and the
    /// index's own names for it (an engine's `ef_search`, `probes`). An
    /// engine does not raise ef to k, so it has no `ef_effective`.
    pub fn report_on(self, index: &dyn super::AnnIndex, k: usize) -> ParamMap {
        let mut shown = self.report(k);
        let own = index.knob_report(self);
        if !own.is_empty() {
            shown.remove("ef_effective");
        }
        shown.extend(own);
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_ef_is_raised_to_k_and_minus_one_is_dynamic() {
        let d = DynamicEf::default();
        let ef = |arg: i64| {
            SearchKnob::from_ef_arg(arg, d)
                .and_then(|knob| knob.effective_ef(10, &DynamicEf::default()))
        };
        assert_eq!(ef(4).expect("ef"), 10);
        assert_eq!(ef(64).expect("ef"), 64);
        assert_eq!(ef(-1).expect("ef"), 100);
        assert!(ef(0).is_err());
        assert!(ef(-2).is_err());
        assert!(SearchKnob::Ef(0).effective_ef(10, &d).is_err());
        assert_eq!(SearchKnob::Default.effective_ef(20, &d).expect("ef"), 160);
    }

    #[test]
    fn a_knob_of_the_wrong_kind_is_refused() {
        assert!(SearchKnob::Probe(4)
            .effective_ef(10, &DynamicEf::default())
            .is_err());
        assert!(SearchKnob::Ef(4).effective_probe(16).is_err());
        assert!(SearchKnob::Probe(0).effective_probe(16).is_err());
        assert_eq!(SearchKnob::Default.effective_probe(16).expect("probe"), 16);
    }

    #[test]
    fn the_report_names_what_ran() {
        let d = DynamicEf::default();
        let shown = SearchKnob::DynamicEf(d).report(10);
        assert_eq!(shown["ef"], serde_json::json!(-1));
        assert_eq!(shown["ef_effective"], serde_json::json!(100));
        let shown = SearchKnob::Ef(4).report(10);
        assert_eq!(shown["ef_effective"], serde_json::json!(10));
        assert_eq!(
            SearchKnob::Probe(8).report(10)["search_probe"],
            serde_json::json!(8)
        );
    }
}
