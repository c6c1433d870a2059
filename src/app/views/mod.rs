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
mod scatter;

use egui::{Color32, Pos2, Rect, RichText, Ui};

use super::session::{QueryPick, Session};
use super::settings::{ColourBy, Settings, Tab};
use canvas::{Camera, PointMesh};
use colour::Colouring;

/// What a view asks the app to do; views only read the session.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewCommand {
    /// Show an error in the messages panel.
    Error(String),
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
        .current_build()
        .and_then(|b| b.index.graph_overview.as_ref())
        .filter(|g| !g.layer_stats.is_empty())
    {
        view.layer = view.layer.min(graph.layer_stats.len() - 1);
    }
    if settings.view_tab != Tab::Charts {
        session.request_projection(
            settings.projection_method,
            settings.colour_by == ColourBy::NeighboursKept,
        );
    }
    match settings.view_tab {
        Tab::Charts => {}
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
            // The launch choices apply to the first data shown.
            view.selected = match view.pending_select.take() {
                Some(n) if n as usize >= projection.base.len() => {
                    commands.push(ViewCommand::Error(format!(
                        "--select {n}: there is no such vector (the dataset has {})",
                        projection.base.len()
                    )));
                    None
                }
                other => other,
            };
        } else {
            view.selected = None;
            view.query = QueryPick::Query(0);
            view.playback = Playback::default();
        }
    }
    match settings.view_tab {
        Tab::Projection => scatter::projection_ui(ui, session, settings, view, &projection),
        Tab::Layers => layers::layers_ui(ui, session, settings, view, &projection),
        Tab::SearchPath => path::search_path_ui(ui, session, settings, view, &projection),
        Tab::Charts => {}
    }
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
        ColourBy::TopLayer => match session
            .current_build()
            .and_then(|b| b.index.graph_overview.as_ref())
        {
            Some(g) if !g.top_layers.is_empty() => Box::new(colour::ByTopLayer {
                levels: g.top_layers.as_slice(),
                dark,
            }),
            _ => Box::new(colour::Plain { dark }),
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
    painter: &egui::Painter,
    rect: Rect,
    camera: &Camera,
    base: &[[f32; 2]],
    dark: bool,
) {
    let faint = colour::base_grey(dark).gamma_multiply(0.35);
    let mut context = PointMesh::new(rect, base.len());
    for &p in base {
        context.add(camera.to_screen(rect, p), 1.0, faint);
    }
    painter.add(context.into_shape());
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

/// Every base point (and optionally the queries), coloured.
fn draw_points(
    painter: &egui::Painter,
    rect: Rect,
    camera: &Camera,
    projection: &crate::projection::Projection,
    colours: &dyn Colouring,
    show_queries: bool,
) {
    let r = point_radius(projection.base.len(), camera.zoom);
    let mut mesh = PointMesh::new(rect, projection.base.len());
    let mut raised: Vec<(u8, usize)> = Vec::new();
    for (i, &p) in projection.base.iter().enumerate() {
        let rank = colours.rank(i);
        if rank > 0 {
            raised.push((rank, i));
            continue;
        }
        let c = colours.base(i);
        if c.a() > 0 {
            mesh.add(camera.to_screen(rect, p), r, c);
        }
    }
    raised.sort_unstable();
    for (rank, i) in raised {
        let grow = 0.7 * rank.min(4) as f32;
        mesh.add(
            camera.to_screen(rect, projection.base[i]),
            r + grow,
            colours.base(i),
        );
    }
    painter.add(mesh.into_shape());
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
        .work
        .current
        .and_then(|id| session.work.node_detail.value_for(&(id, sel)))
    else {
        if session.current_hnsw().is_none() {
            ui.label("Build an HNSW index to see this node's links.");
        } else {
            ui.spinner();
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
