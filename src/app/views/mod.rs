//! The views inside the index: the 2-D PCA projection of the data, the HNSW
//! graph layer by layer, and one query's search replayed step by step.
//!
//! They share one canvas (the projection's plane, [`canvas::Camera`]), one
//! selection (a node, a query) and one colouring ([`colour::Colouring`]).
//! Everything they draw is computed by session jobs ([`Session`]'s
//! `projection`, `layer_view`, `node_detail`, `search_path`); a view only
//! asks for it ([`request_jobs`]) and draws what has arrived, so every view
//! follows a rebuild (the keys carry the build id) and none computes on the
//! UI thread. Drawing reads the session (`&Session`) and hands what it wants
//! changed back as [`ViewCommand`]s; results arrive as shared `Arc`s, so a
//! frame copies pointers, never a projection or a search path.

pub mod canvas;
pub mod colour;
mod layers;
mod path;
mod raster;
mod scatter;

use std::sync::Arc;

use egui::{Color32, Pos2, Rect, RichText, Ui};

use super::motion::shot::MotionShot;
use super::session::{QueryPick, Session};
use super::settings::{ColourBy, Settings, Tab};
use canvas::{Camera, PointMesh};
use colour::Colouring;

/// What a view asks the app to do; views only read the session.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewCommand {
    /// Show an error in the messages panel.
    Error(String),
    /// Back from a Motion run's index to the current build.
    ShowBuilt,
}

/// Playing a search path back.
#[derive(Clone, Debug)]
pub struct Playback {
    /// The step shown (index into the path's steps).
    pub step: usize,
    pub playing: bool,
    /// Steps per second while playing.
    pub speed: f32,
    /// Fractional progress towards the next step while playing.
    carry: f32,
}

impl Default for Playback {
    fn default() -> Self {
        Playback {
            step: 0,
            playing: false,
            speed: 4.0,
            carry: 0.0,
        }
    }
}

/// What the views show; kept for the session, not persisted.
pub struct ViewState {
    pub camera: Option<Camera>,
    /// The projection the camera was fitted to (data generation, and
    /// whether it is UMAP's).
    camera_for: (u64, bool),
    /// The label search typed, and its matches (best first).
    pub search: String,
    pub search_hits: std::sync::Arc<Vec<u32>>,
    pub(super) searched_for: String,
    /// A point to centre the camera on at the next frame (a search's best).
    pub(super) center_on: Option<u32>,
    /// The Cancel beside the projection's progress was clicked.
    pub(super) cancel_projection: bool,
    /// The pictures of the base points: coloured (Projection) and faint
    /// (behind the layer graph and the search path).
    pub(super) scatter_layer: PointLayer,
    pub(super) context_layer: PointLayer,
    /// The selected base node (external id = base row).
    pub selected: Option<u32>,
    pub layer: usize,
    pub show_queries: bool,
    /// The query whose search the Search path tab replays.
    pub query: QueryPick,
    pub playback: Playback,
    /// The canvas as last drawn, so tests (and tools) can find a point on screen.
    pub last_canvas: Option<(Rect, Camera)>,
    /// A selection asked for at launch, applied once the data is in.
    pending_select: Option<u32>,
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            camera: None,
            camera_for: (0, false),
            search: String::new(),
            search_hits: Default::default(),
            searched_for: String::new(),
            center_on: None,
            cancel_projection: false,
            scatter_layer: PointLayer::default(),
            context_layer: PointLayer::default(),
            selected: None,
            layer: 0,
            show_queries: true,
            query: QueryPick::Query(0),
            playback: Playback::default(),
            last_canvas: None,
            pending_select: None,
        }
    }
}

impl ViewState {
    /// What to show first (from `annscope gui --select/--layer/--query/--step`).
    pub fn start_on(
        &mut self,
        select: Option<u32>,
        layer: Option<usize>,
        query: Option<usize>,
        step: Option<usize>,
    ) {
        self.pending_select = select;
        if let Some(l) = layer {
            self.layer = l;
        }
        if let Some(q) = query {
            self.query = QueryPick::Query(q);
        }
        if let Some(s) = step {
            self.playback.step = s.saturating_sub(1);
        }
    }

    /// Where a projected point is on screen in the last drawn canvas.
    pub fn screen_pos(&self, p: [f32; 2]) -> Option<Pos2> {
        self.last_canvas.map(|(rect, cam)| cam.to_screen(rect, p))
    }
}

/// Asks the session for what the open tab shows. Called every frame;
/// repeated questions cost nothing.
pub fn request_jobs(session: &mut Session, settings: &Settings, view: &mut ViewState) {
    // Clamp the layer to the graph's height (once there is a graph).
    if let Some(graph) = session
        .shown_graph()
        .filter(|g| !g.overview.layer_stats.is_empty())
    {
        view.layer = view.layer.min(graph.overview.layer_stats.len() - 1);
    }
    if !view.search.trim().is_empty() {
        session.request_label_search(&view.search);
    }
    if std::mem::take(&mut view.cancel_projection) {
        session.projection.cancel();
    }
    if !matches!(settings.view_tab, Tab::Charts | Tab::Motion) {
        session.request_projection(
            settings.projection_method,
            settings.colour_by == ColourBy::NeighboursKept,
        );
    }
    match settings.view_tab {
        Tab::Charts | Tab::Motion => {}
        Tab::Projection => {
            if let Some(n) = view.selected {
                session.request_node_detail(n);
                session.request_selected_neighbours(n, 10, settings.knob());
            }
        }
        Tab::Layers => {
            session.request_layer_view(view.layer, view.selected);
            if let Some(n) = view.selected {
                session.request_node_detail(n);
            }
        }
        Tab::SearchPath => {
            session.request_search_path(view.query, settings.k, settings.knob());
        }
    }
}

/// The open tab's contents (the Charts tab is drawn by the caller).
pub fn tab_ui(
    ui: &mut Ui,
    session: &Session,
    settings: &mut Settings,
    view: &mut ViewState,
    commands: &mut Vec<ViewCommand>,
) {
    let Some(projection) = session.projection.value().cloned() else {
        ui.vertical_centered(|ui| {
            ui.add_space(40.0);
            if let Some(p) = session.projection.progress() {
                ui.spinner();
                ui.label(format!("Projecting the data: {}", p.stage));
            } else {
                ui.label("Open a dataset to see its projection.");
            }
        });
        return;
    };
    let laid_out = (
        session.data_generation,
        projection.method == crate::projection::Method::Umap,
    );
    if view.camera.is_some() && view.camera_for.0 == session.data_generation {
        if view.camera_for != laid_out {
            // The same data laid out anew: fit the camera, keep the selection.
            view.camera = Some(Camera::fit(projection.bounds()));
            view.camera_for = laid_out;
        }
    } else {
        let first = view.camera.is_none();
        view.camera = Some(Camera::fit(projection.bounds()));
        view.camera_for = laid_out;
        if first {
            // The launch choices apply to the first data shown (a node
            // selected before the views first drew, as the Motion tab's
            // cluster delete can use, stays).
            match view.pending_select.take() {
                Some(n) if n as usize >= projection.base.len() => {
                    commands.push(ViewCommand::Error(format!(
                        "--select {n}: there is no such vector (the dataset has {})",
                        projection.base.len()
                    )));
                    view.selected = None;
                }
                Some(n) => view.selected = Some(n),
                None => {}
            }
        } else {
            view.selected = None;
            view.query = QueryPick::Query(0);
            view.playback = Playback::default();
        }
    }
    if let Some(shot) = &session.work.motion_shot {
        motion_banner(ui, shot, commands);
    }
    match settings.view_tab {
        Tab::Projection => scatter::projection_ui(ui, session, settings, view, &projection),
        Tab::Layers => layers::layers_ui(ui, session, settings, view, &projection),
        Tab::SearchPath => path::search_path_ui(ui, session, settings, view, &projection),
        Tab::Charts | Tab::Motion => {}
    }
}

/// Which index the views show when it is a Motion run's, what it holds,
/// and the way back to the current build.
fn motion_banner(ui: &mut Ui, shot: &MotionShot, commands: &mut Vec<ViewCommand>) {
    use crate::churn::marks::RowMark;
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(format!("Showing {}", shot.label))
                .strong()
                .color(Color32::from_rgb(240, 170, 40)),
        );
        let unreachable = shot.overview.unreachable;
        ui.label(format!(
            "{} live · {} tombstones · {} queued · {} unreachable on layer 0",
            shot.count(RowMark::Live),
            shot.count(RowMark::Tombstone),
            shot.count(RowMark::Queued),
            unreachable
        ));
        if shot.moved > 0 {
            ui.label(
                RichText::new(format!(
                    "({} replaced rows are drawn where their id was first inserted)",
                    shot.moved
                ))
                .small(),
            );
        }
        if ui
            .button("Show the built index")
            .on_hover_text("Back to the current build in the views")
            .clicked()
        {
            commands.push(ViewCommand::ShowBuilt);
        }
    });
}

/// The colouring picked, with what it needs from the session.
fn colouring<'a>(
    by: ColourBy,
    session: &'a Session,
    settings: &Settings,
    projection: &'a crate::projection::Projection,
    dark: bool,
) -> Box<dyn Colouring + 'a> {
    match by {
        ColourBy::NeighboursKept => match projection
            .kept
            .as_ref()
            .and_then(|k| k.per_point.as_deref())
        {
            Some(kept) => Box::new(colour::ByNeighboursKept { kept }),
            None => Box::new(colour::Plain { dark }),
        },
        ColourBy::Nothing => Box::new(colour::Plain { dark }),
        ColourBy::TopLayer => match session.shown_graph() {
            Some(g) if !g.overview.top_layers.is_empty() => Box::new(colour::ByTopLayer {
                levels: g.overview.top_layers.as_slice(),
                dark,
            }),
            _ => Box::new(colour::Plain { dark }),
        },
        ColourBy::MotionState => match &session.work.motion_shot {
            Some(shot) => Box::new(colour::ByMotion {
                marks: shot.marks.as_slice(),
                counts: shot.counts,
                dark,
            }),
            None => Box::new(colour::Plain { dark }),
        },
        ColourBy::PostingList => match session
            .current_build()
            .and_then(|b| b.index.lists_overview.as_ref())
        {
            Some(l) if !l.primary_list.is_empty() => Box::new(colour::ByPostingList {
                lists: l.primary_list.as_slice(),
                dark,
            }),
            _ => Box::new(colour::Plain { dark }),
        },
        ColourBy::QueryRecall => {
            match session.current_query_recall(settings.k, settings.knob(), settings.rescoring()) {
                Some(recall) => Box::new(colour::ByQueryRecall {
                    recall: recall.as_slice(),
                    dark,
                }),
                None => Box::new(colour::Plain { dark }),
            }
        }
    }
}

/// The canvas filling the rest of the tab: allocated, named for
/// accessibility, panned and zoomed by the pointer, cleared, and recorded in
/// `view.last_canvas`. None before the camera exists.
fn canvas(
    ui: &mut Ui,
    view: &mut ViewState,
    name: &'static str,
) -> Option<(egui::Response, egui::Painter, Rect, Camera)> {
    let (response, painter) =
        ui.allocate_painter(ui.available_size(), egui::Sense::click_and_drag());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, name));
    let rect = response.rect;
    let camera = view.camera.as_mut()?;
    camera.interact(ui, rect, &response);
    let camera = *camera;
    view.last_canvas = Some((rect, camera));
    painter.rect_filled(rect, 0.0, ui.visuals().extreme_bg_color);
    Some((response, painter, rect, camera))
}

/// Every base vector, faint, as the backdrop of the graph and path views.
fn draw_context(
    ui: &Ui,
    painter: &egui::Painter,
    rect: Rect,
    camera: &Camera,
    projection: &Arc<crate::projection::Projection>,
    dark: bool,
    layer: &mut PointLayer,
) {
    struct Faint(Color32);
    impl Colouring for Faint {
        fn base(&self, _: usize) -> Color32 {
            self.0
        }
        fn query(&self, _: usize) -> Color32 {
            self.0
        }
        fn legend(&self) -> Vec<(String, Color32)> {
            Vec::new()
        }
    }
    let faint = Faint(colour::base_grey(dark).gamma_multiply(0.35));
    layer.draw(
        ui,
        painter,
        rect,
        camera,
        projection,
        &faint,
        u64::from(dark),
        1.0,
    );
}

/// Radius of a base point: smaller when there are many.
fn point_radius(n: usize, zoom: f32) -> f32 {
    let base = if n <= 5_000 {
        2.2
    } else if n <= 30_000 {
        1.5
    } else {
        1.0
    };
    (base * zoom.powf(0.25)).min(4.0)
}

/// One colouring's per-point colours and drawing order, kept while the
/// colouring holds (computing them reads every point: once per change, not
/// per picture).
pub struct ColourCache {
    key: u64,
    colours: Arc<Vec<Color32>>,
    order: Arc<Vec<u32>>,
    grow: Arc<Vec<f32>>,
}

impl ColourCache {
    fn of(key: u64, n: usize, colours: &dyn Colouring) -> ColourCache {
        let mut all = Vec::with_capacity(n);
        let mut plain = Vec::with_capacity(n);
        let mut raised: Vec<(u8, u32)> = Vec::new();
        for i in 0..n {
            all.push(colours.base(i));
            match colours.rank(i) {
                0 => plain.push(i as u32),
                r => raised.push((r, i as u32)),
            }
        }
        raised.sort_unstable();
        let mut grow = vec![0.0; plain.len()];
        grow.extend(raised.iter().map(|&(r, _)| 0.7 * r.min(4) as f32));
        plain.extend(raised.iter().map(|&(_, i)| i));
        ColourCache {
            key,
            colours: Arc::new(all),
            order: Arc::new(plain),
            grow: Arc::new(grow),
        }
    }
}

/// A layout's base points, shared with a painting job without a copy.
struct BasePoints(Arc<crate::projection::Projection>);

impl AsRef<[[f32; 2]]> for BasePoints {
    fn as_ref(&self) -> &[[f32; 2]] {
        &self.0.base
    }
}

/// A picture of the base points and the colours it was painted with.
#[derive(Default)]
pub struct PointLayer {
    picture: raster::PointPicture,
    colours: Option<ColourCache>,
}

impl PointLayer {
    /// Draws every base point, coloured by `colours` (whose identity is
    /// `colour_key`), as a picture painted off the UI thread.
    #[allow(clippy::too_many_arguments)]
    fn draw(
        &mut self,
        ui: &Ui,
        painter: &egui::Painter,
        rect: Rect,
        camera: &Camera,
        projection: &Arc<crate::projection::Projection>,
        colours: &dyn Colouring,
        colour_key: u64,
        radius: f32,
    ) {
        let n = projection.base.len();
        let key = raster::PictureKey {
            points: (Arc::as_ptr(projection) as usize, n),
            colours: colour_key,
            camera: *camera,
            rect,
            pixels_per_point: ui.ctx().pixels_per_point(),
        };
        let cache = &mut self.colours;
        self.picture.draw(ui.ctx(), painter, key, || {
            if cache.as_ref().is_none_or(|c| c.key != colour_key) {
                *cache = Some(ColourCache::of(colour_key, n, colours));
            }
            let c = cache.as_ref().expect("just filled");
            raster::PointStyle {
                points: Arc::new(BasePoints(projection.clone())),
                colours: c.colours.clone(),
                order: c.order.clone(),
                grow: c.grow.clone(),
                radius,
            }
        });
    }
}

/// Every base point (a picture) and optionally the queries (a mesh: few),
/// coloured.
#[allow(clippy::too_many_arguments)]
fn draw_points(
    ui: &Ui,
    painter: &egui::Painter,
    rect: Rect,
    camera: &Camera,
    projection: &Arc<crate::projection::Projection>,
    colours: &dyn Colouring,
    colour_key: u64,
    show_queries: bool,
    layer: &mut PointLayer,
) {
    let r = point_radius(projection.base.len(), camera.zoom);
    layer.draw(
        ui, painter, rect, camera, projection, colours, colour_key, r,
    );
    if show_queries {
        let mut qmesh = PointMesh::new(rect, projection.queries.len());
        for (i, &p) in projection.queries.iter().enumerate() {
            qmesh.add(camera.to_screen(rect, p), r + 0.8, colours.query(i));
        }
        painter.add(qmesh.into_shape());
    }
}

/// The legend in the canvas's lower-left corner.
fn draw_legend(painter: &egui::Painter, rect: Rect, entries: &[(String, Color32)], ui: &Ui) {
    let font = egui::FontId::proportional(12.0);
    let text_colour = ui.visuals().text_color();
    let mut y = rect.bottom() - 10.0 - entries.len() as f32 * 16.0;
    for (label, colour) in entries {
        let at = Pos2::new(rect.left() + 14.0, y + 8.0);
        painter.circle_filled(at, 4.5, *colour);
        painter.text(
            at + egui::vec2(10.0, 0.0),
            egui::Align2::LEFT_CENTER,
            label,
            font.clone(),
            text_colour,
        );
        y += 16.0;
    }
}

/// A base vector's label, shortened for the screen.
fn short_label(session: &Session, row: u32, max: usize) -> String {
    let Some(text) = session
        .loaded
        .as_ref()
        .and_then(|l| l.base.label(row as usize))
    else {
        return String::new();
    };
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// The selected node: its label and its links on every layer with
/// distances and labels. Clicking a link selects that node.
fn node_panel(ui: &mut Ui, session: &Session, view: &mut ViewState) {
    let Some(sel) = view.selected else {
        ui.label("Click a point to select it.");
        return;
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("Node {sel}")).strong());
        if ui.small_button("Clear").clicked() {
            view.selected = None;
        }
    });
    let label = short_label(session, sel, 200);
    if !label.is_empty() {
        ui.label(RichText::new(label).italics());
    }
    let Some(detail) = session
        .current_hnsw()
        .and_then(|(id, _)| session.work.node_detail.value_for(&(id, sel)))
    else {
        match session.current_hnsw() {
            None => {
                ui.label("Build an HNSW index to see this node's links.");
            }
            Some((_, h)) if h.graph().node_level(sel).is_none() => {
                ui.label(if h.graph().is_tombstone(sel) {
                    "Deleted: a tombstone searches still walk through until a cleanup; no live links to list."
                } else {
                    "Not in the index shown (never written, or deleted and cleaned up)."
                });
            }
            Some(_) => {
                ui.spinner();
            }
        }
        return;
    };
    ui.label(format!(
        "Top layer {} · {}",
        detail.top_layer,
        if detail.reachable {
            "reachable from the entry point"
        } else {
            "UNREACHABLE from the entry point"
        }
    ));
    let mut pick = None;
    for ll in &detail.layers {
        egui::CollapsingHeader::new(format!("Layer {}: {} links", ll.layer, ll.links.len()))
            .id_salt(("node-links", ll.layer))
            .default_open(ll.layer == view.layer || detail.layers.len() == 1)
            .show(ui, |ui| {
                egui::Grid::new(("links-grid", ll.layer))
                    .num_columns(3)
                    .striped(true)
                    .show(ui, |ui| {
                        for &(nb, d) in &ll.links {
                            if ui
                                .link(format!("{nb}"))
                                .on_hover_text("Select this node")
                                .clicked()
                            {
                                pick = Some(nb);
                            }
                            ui.label(format!("{d:.4}"));
                            ui.label(short_label(session, nb, 60));
                            ui.end_row();
                        }
                    });
            });
    }
    if let Some(nb) = pick {
        view.selected = Some(nb);
    }
}
