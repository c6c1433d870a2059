//! The graph views' background requests on the session: one layer drawn
//! around a node, a node's links on every layer, one search traced step by
//! step, on the graph shown (the current build's, or a Motion run's copy). Each goes through a [`crate::job::Latest`] slot, so asking every
//! frame costs nothing while the key is unchanged. No egui here.

use std::sync::Arc;

use super::motion::shot::MotionShot;
use super::session::Session;
use crate::error::Error;
use crate::index::{AnnIndex, GraphOverview, Hnsw, SearchKnob};
use crate::job::Job;

/// A built index known to search an HNSW graph, for the graph views' jobs.
#[derive(Clone)]
pub struct GraphIndex(Arc<dyn AnnIndex>);

impl GraphIndex {
    /// The graph (checked to be there when made).
    pub fn graph(&self) -> &Hnsw {
        #[allow(clippy::expect_used)]
        self.0
            .graph()
            .expect("a GraphIndex is made only for indexes with a graph")
    }
}

impl std::ops::Deref for GraphIndex {
    type Target = Hnsw;
    fn deref(&self) -> &Hnsw {
        self.graph()
    }
}

/// Which vector a traced search starts from: a query of the query set, or a
/// base vector clicked in the projection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryPick {
    Query(usize),
    Base(u32),
}

/// One traced search: which build, which vector, k and the knob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathKey {
    pub build_id: usize,
    pub pick: QueryPick,
    pub k: usize,
    pub knob: SearchKnob,
}

/// What the graph views draw: the current build's graph, or a Motion
/// run's index as it stood at one step.
pub struct ShownGraph<'a> {
    /// The views' key (a build's id, or a shot's).
    pub id: usize,
    pub overview: &'a GraphOverview,
    pub index: GraphIndex,
    /// Set when the graph is a Motion run's.
    pub motion: Option<&'a MotionShot>,
}

impl Session {
    /// The graph the views draw: a Motion run's shown in the views, else
    /// the current build's when it searches an HNSW graph.
    pub fn shown_graph(&self) -> Option<ShownGraph<'_>> {
        if let Some(shot) = &self.work.motion_shot {
            return Some(ShownGraph {
                id: shot.id,
                overview: &shot.overview,
                index: GraphIndex(shot.index.clone()),
                motion: Some(shot),
            });
        }
        let b = self.current_build()?;
        b.index.graph()?;
        Some(ShownGraph {
            id: b.id,
            overview: b.index.graph_overview.as_ref()?,
            index: GraphIndex(b.index.shared()),
            motion: None,
        })
    }

    /// The id and index of the graph the views draw.
    pub fn current_hnsw(&self) -> Option<(usize, GraphIndex)> {
        if let Some(shot) = &self.work.motion_shot {
            return Some((shot.id, GraphIndex(shot.index.clone())));
        }
        let b = self.current_build()?;
        b.index.graph()?;
        Some((b.id, GraphIndex(b.index.shared())))
    }

    /// Shows a Motion run's index in the graph views.
    pub fn show_motion(&mut self, shot: Arc<MotionShot>) {
        self.work.motion_shot = Some(shot);
    }

    /// Back to the current build in the graph views.
    pub fn hide_motion(&mut self) {
        self.work.motion_shot = None;
    }

    /// Asks for `layer` of the current graph as drawn around `focus`.
    pub fn request_layer_view(&mut self, layer: usize, focus: Option<u32>) {
        let Some((id, h)) = self.current_hnsw() else {
            return;
        };
        let notify = self.notifier();
        self.work
            .layer_view
            .request((id, layer, focus), |&(_, layer, focus)| {
                Job::spawn_notify(
                    "layer-view",
                    move |_| Ok(h.graph().layer_view(layer, focus)),
                    notify,
                )
            });
    }

    /// Asks for a node's links on every layer, with distances.
    pub fn request_node_detail(&mut self, node: u32) {
        let Some((id, h)) = self.current_hnsw() else {
            return;
        };
        // A node deleted from the index shown (a Motion run's) has no links
        // to list: the panel says so instead of failing a job.
        if h.graph().node_level(node).is_none() {
            return;
        }
        let notify = self.notifier();
        self.work.node_detail.request((id, node), |&(_, node)| {
            Job::spawn_notify(
                "node-detail",
                move |_| {
                    h.graph().node_detail(node).ok_or_else(|| {
                        Error::InvalidParameter(format!("node {node} is not in the graph"))
                    })
                },
                notify,
            )
        });
    }

    /// Asks for one search traced step by step at (k, knob), with its misses explained.
    pub fn request_search_path(&mut self, pick: QueryPick, k: usize, knob: SearchKnob) {
        let (Some((id, h)), Some(loaded)) = (self.current_hnsw(), &self.loaded) else {
            return;
        };
        // Checked here, read in the job: this is asked every frame and must
        // cost nothing when the key is unchanged.
        let (source, row) = match pick {
            QueryPick::Query(i) if i < loaded.queries.len() => (loaded.queries.clone(), i),
            QueryPick::Base(b) if (b as usize) < loaded.base.len() => {
                (loaded.base.clone(), b as usize)
            }
            _ => return,
        };
        let notify = self.notifier();
        let key = PathKey {
            build_id: id,
            pick,
            k,
            knob,
        };
        self.work.search_path.request(key, |key| {
            let (k, knob) = (key.k, key.knob);
            Job::spawn_notify(
                "search-trace",
                move |_| h.graph().explain_search(source.row(row), k, knob),
                notify,
            )
        });
    }
}
