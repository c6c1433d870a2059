//! The projection's background work for the app: which layout is shown
//! (PCA at once, UMAP when asked and ready), its neighbours kept, and the
//! selected point's true and found neighbours.
//!
//! The k-NN graph comes from the build on screen when there is one (the
//! index the user is tuning; an engine's server is left alone) and from an
//! exact scan otherwise, so UMAP's expensive half is a search of the index
//! annscope already holds.

pub use super::projection_keys::{NeighboursKey, ProjectionKey, SelectedNeighbours};
use super::session::Session;
use crate::error::Error;
use crate::index::{SearchKnob, SearchParams};
use crate::job::Job;
use crate::projection::umap::UmapParams;
use crate::projection::{self, GraphSource, Method};

/// Seed of UMAP's negative samples and of the neighbours-kept sample.
const SEED: u64 = 42;
/// ef of the searches that make the graph from a graph index.
const GRAPH_EF: usize = 64;

impl Session {
    /// Asks for `method`'s projection; with `measured`, its neighbours
    /// kept too (PCA then also needs a graph). The last finished picture
    /// stays on screen until this one lands.
    pub fn request_projection(&mut self, method: Method, measured: bool) {
        let Some(loaded) = &self.loaded else {
            return;
        };
        // PCA first: it is on screen in a second, and UMAP (or a measured
        // PCA) replaces it when ready rather than leaving the tab empty.
        let first = ProjectionKey::first(self.data_generation);
        if self.projection.value_for(&first).is_none() && self.projection.asked() == Some(&first) {
            return;
        }
        // A layout asked for on this data stays: a new build does not
        // re-run UMAP (minutes at a million points) unless asked anew.
        if let Some(asked) = self.projection.asked() {
            if asked.generation == self.data_generation
                && asked.method == method
                && (asked.graph.is_some() || !measured)
            {
                return;
            }
        }
        let build = self
            .current_build()
            .filter(|b| !b.index.kind().is_engine() && b.index.len() == loaded.base.len());
        let key = ProjectionKey {
            generation: self.data_generation,
            method,
            graph: (measured || method == Method::Umap).then(|| build.map(|b| b.id)),
        };
        let (base, queries) = (loaded.base.clone(), loaded.queries.clone());
        let index = build.map(|b| (b.index.shared(), b.index.spec.label()));
        let notify = self.notifier();
        self.projection.request(key, |key| {
            let key = *key;
            Job::spawn_notify(
                "projection",
                move |ctx| {
                    if key.graph.is_none() {
                        return projection::project(&base, Some(&queries), ctx);
                    }
                    let source = match &index {
                        Some((index, label)) => GraphSource::Index {
                            index: index.as_ref(),
                            params: SearchParams::new(15).with_ef(GRAPH_EF),
                            label: format!("{label} at ef {GRAPH_EF}"),
                        },
                        None => GraphSource::Exact,
                    };
                    let params = UmapParams {
                        seed: SEED,
                        ..UmapParams::default()
                    };
                    projection::project_measured(
                        &base,
                        Some(&queries),
                        key.method,
                        Some(&source),
                        &params,
                        SEED,
                        ctx,
                    )
                },
                notify,
            )
        });
    }

    /// The key of the projection on screen, if any.
    pub fn projection_key(&self) -> Option<ProjectionKey> {
        self.projection.shared().map(|(k, _)| *k)
    }

    /// Asks for the labels matching `text` (a scan of every label: a
    /// million take a tenth of a second, so not on the UI thread).
    pub fn request_label_search(&mut self, text: &str) {
        let Some(labels) = self.loaded.as_ref().and_then(|l| l.base.labels().cloned()) else {
            return;
        };
        let notify = self.notifier();
        self.work.label_search.request(text.to_string(), |text| {
            let text = text.clone();
            Job::spawn_notify(
                "label-search",
                move |_| Ok(search_labels(&labels, &text)),
                notify,
            )
        });
    }

    /// Asks for the selected point's exact neighbours and the current
    /// build's answer for it.
    pub fn request_selected_neighbours(&mut self, row: u32, k: usize, knob: SearchKnob) {
        let Some(loaded) = &self.loaded else {
            return;
        };
        if row as usize >= loaded.base.len() {
            return;
        }
        let build = self
            .current_build()
            .filter(|b| !b.index.kind().is_engine() && b.index.len() == loaded.base.len());
        let key = (self.data_generation, build.map(|b| b.id), row, k, knob);
        let base = loaded.base.clone();
        let index = build.map(|b| b.index.shared());
        let notify = self.notifier();
        self.work.neighbours.request(key, |&(_, _, row, k, knob)| {
            Job::spawn_notify(
                "neighbours",
                move |ctx| {
                    let one = base.vectors().gather(&[row as usize]);
                    let flat = crate::index::flat::FlatIndex::build(base.clone(), ctx)?;
                    let exact = flat.search_batch_with(&one, k + 1, None, ctx)?;
                    let strip = |ids: &[u32]| -> Vec<u32> {
                        ids.iter().copied().filter(|&i| i != row).take(k).collect()
                    };
                    let exact = strip(
                        &exact
                            .first()
                            .ok_or_else(|| Error::Internal("no answer".into()))?
                            .ids,
                    );
                    let found = match index {
                        Some(index) => {
                            let params = SearchParams::new(k + 1).with_knob(knob);
                            Some(strip(&index.search(base.row(row as usize), &params)?.ids))
                        }
                        None => None,
                    };
                    Ok(SelectedNeighbours { exact, found })
                },
                notify,
            )
        });
    }
}

/// Indices of `labels` containing `needle` (case-insensitive), the best
/// first: an exact match, then labels that start with it, then the rest,
/// shorter labels before longer, then by row.
pub fn search_labels(labels: &[String], needle: &str) -> Vec<u32> {
    let needle = needle.trim().to_lowercase();
    if needle.is_empty() {
        return Vec::new();
    }
    let mut hits: Vec<(u8, usize, u32)> = labels
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let lower = l.to_lowercase();
            let at = lower.find(&needle)?;
            let rank = if lower == needle {
                0
            } else if at == 0 {
                1
            } else {
                2
            };
            Some((rank, l.len(), i as u32))
        })
        .collect();
    hits.sort_unstable();
    hits.into_iter().map(|h| h.2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_search_ignores_case_and_ranks_exact_then_prefix() {
        let labels: Vec<String> = [
            "numpy-financial",
            "NumPy",
            "pandas uses numpy",
            "numpy",
            "scipy",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(search_labels(&labels, "NUMPY"), [1, 3, 0, 2]);
        assert!(search_labels(&labels, "  ").is_empty());
        assert!(search_labels(&labels, "torch").is_empty());
    }

    #[test]
    fn keys_tell_a_plain_pca_from_a_measured_one() {
        let first = ProjectionKey::first(3);
        assert_eq!(first.graph, None);
        let measured = ProjectionKey {
            graph: Some(None),
            ..first
        };
        assert_ne!(first, measured);
    }
}
