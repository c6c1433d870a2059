//! A pannable, zoomable 2-D canvas for projected points, drawn as one mesh
//! per layer of marks so 100,000 points stay cheap: a point is a small
//! square (four vertices), a link a thin quad. Everything here maps between
//! the projection's plane ("world") and the screen, and nothing else.

use egui::{Color32, Mesh, Pos2, Rect, Response, Shape, Ui, Vec2};

/// Which part of the plane is on screen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    /// The data's bounding box, fitted by a reset.
    lo: [f32; 2],
    hi: [f32; 2],
    /// World point at the centre of the canvas.
    pub center: [f32; 2],
    /// 1 = the whole box fits the canvas.
    pub zoom: f32,
}

impl Camera {
    /// A camera showing the whole box `(lo, hi)`.
    pub fn fit(bounds: ([f32; 2], [f32; 2])) -> Self {
        let (lo, hi) = bounds;
        Camera {
            lo,
            hi,
            center: [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0],
            zoom: 1.0,
        }
    }

    /// Back to the whole box.
    pub fn reset(&mut self) {
        *self = Camera::fit((self.lo, self.hi));
    }

    /// Screen points per world unit.
    fn scale(&self, rect: Rect) -> f32 {
        let w = (self.hi[0] - self.lo[0]).max(1e-6);
        let h = (self.hi[1] - self.lo[1]).max(1e-6);
        (rect.width() / w).min(rect.height() / h) * 0.92 * self.zoom
    }

    /// Where a world point lands on screen (y up in the world, down on screen).
    #[inline]
    pub fn to_screen(&self, rect: Rect, p: [f32; 2]) -> Pos2 {
        let s = self.scale(rect);
        let c = rect.center();
        Pos2::new(
            c.x + (p[0] - self.center[0]) * s,
            c.y - (p[1] - self.center[1]) * s,
        )
    }

    /// The world point under a screen position.
    pub fn to_world(&self, rect: Rect, pos: Pos2) -> [f32; 2] {
        let s = self.scale(rect);
        let c = rect.center();
        [
            self.center[0] + (pos.x - c.x) / s,
            self.center[1] - (pos.y - c.y) / s,
        ]
    }

    /// Drag pans, scroll or pinch zooms about the pointer, double-click resets.
    pub fn interact(&mut self, ui: &Ui, rect: Rect, response: &Response) {
        if response.dragged() {
            let d = response.drag_delta();
            let s = self.scale(rect);
            self.center[0] -= d.x / s;
            self.center[1] += d.y / s;
        }
        if response.double_clicked() {
            self.reset();
        }
        if let Some(pos) = response.hover_pos() {
            let (scroll, pinch) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
            let factor = pinch * (scroll / 200.0).exp();
            if (factor - 1.0).abs() > 1e-4 {
                // Keep the world point under the pointer where it is.
                let before = self.to_world(rect, pos);
                self.zoom = (self.zoom * factor).clamp(0.2, 5_000.0);
                let after = self.to_world(rect, pos);
                self.center[0] += before[0] - after[0];
                self.center[1] += before[1] - after[1];
            }
        }
    }
}

/// Square marks of side `2 * radius`, skipping those off the canvas.
pub struct PointMesh {
    mesh: Mesh,
    clip: Rect,
}

impl PointMesh {
    pub fn new(clip: Rect, capacity: usize) -> Self {
        let mut mesh = Mesh::default();
        mesh.reserve_vertices(capacity * 4);
        mesh.reserve_triangles(capacity * 2);
        PointMesh { mesh, clip }
    }

    #[inline]
    pub fn add(&mut self, at: Pos2, radius: f32, colour: Color32) {
        if !self.clip.expand(radius).contains(at) {
            return;
        }
        self.mesh.add_colored_rect(
            Rect::from_center_size(at, Vec2::splat(radius * 2.0)),
            colour,
        );
    }

    /// A thin quad from `a` to `b` (links), clipped roughly to the canvas.
    #[inline]
    pub fn add_line(&mut self, a: Pos2, b: Pos2, width: f32, colour: Color32) {
        let bounds = Rect::from_two_pos(a, b);
        if !self.clip.intersects(bounds) {
            return;
        }
        let d = b - a;
        let len = d.length();
        if len < 0.5 {
            return;
        }
        let n = Vec2::new(-d.y, d.x) / len * (width / 2.0);
        let i = self.mesh.vertices.len() as u32;
        self.mesh.colored_vertex(a + n, colour);
        self.mesh.colored_vertex(a - n, colour);
        self.mesh.colored_vertex(b + n, colour);
        self.mesh.colored_vertex(b - n, colour);
        self.mesh.add_triangle(i, i + 1, i + 2);
        self.mesh.add_triangle(i + 1, i + 2, i + 3);
    }

    pub fn vertex_count(&self) -> usize {
        self.mesh.vertices.len()
    }

    pub fn into_shape(self) -> Shape {
        Shape::mesh(self.mesh)
    }
}

/// The index of the point nearest `pos` within `max_px` screen points,
/// among those `eligible` admits.
pub fn nearest(
    points: &[[f32; 2]],
    camera: &Camera,
    rect: Rect,
    pos: Pos2,
    max_px: f32,
    eligible: impl Fn(usize) -> bool,
) -> Option<usize> {
    let mut best = None;
    let mut best_d2 = max_px * max_px;
    for (i, &p) in points.iter().enumerate() {
        let s = camera.to_screen(rect, p);
        let d2 = (s - pos).length_sq();
        if d2 <= best_d2 && eligible(i) {
            best_d2 = d2;
            best = Some(i);
        }
    }
    best
}

/// A tombstone: a red cross over the node's place.
pub fn cross_out(painter: &egui::Painter, p: egui::Pos2) {
    let stroke = egui::Stroke::new(1.8, super::colour::TOMBSTONE);
    let (a, b) = (egui::vec2(4.0, 4.0), egui::vec2(-4.0, 4.0));
    painter.line_segment([p - a, p + a], stroke);
    painter.line_segment([p - b, p + b], stroke);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_and_world_invert_each_other_and_zoom_keeps_the_pointer_fixed() {
        let rect = Rect::from_min_size(Pos2::new(10.0, 20.0), Vec2::new(400.0, 300.0));
        let mut cam = Camera::fit(([-2.0, -1.0], [2.0, 3.0]));
        let p = [0.7, -0.3];
        let s = cam.to_screen(rect, p);
        let back = cam.to_world(rect, s);
        assert!((back[0] - p[0]).abs() < 1e-4 && (back[1] - p[1]).abs() < 1e-4);
        // The box's centre is the canvas centre; y grows upwards.
        assert_eq!(cam.to_screen(rect, [0.0, 1.0]), rect.center());
        assert!(cam.to_screen(rect, [0.0, 2.0]).y < rect.center().y);
        cam.zoom = 3.0;
        assert!((cam.to_screen(rect, [1.0, 1.0]).x - rect.center().x) > 100.0);
        cam.reset();
        assert_eq!(cam.zoom, 1.0);
    }

    #[test]
    fn nearest_picks_the_closest_eligible_point_within_reach() {
        let rect = Rect::from_min_size(Pos2::ZERO, Vec2::new(100.0, 100.0));
        let cam = Camera::fit(([0.0, 0.0], [1.0, 1.0]));
        let pts = [[0.0, 0.0], [0.5, 0.5], [0.52, 0.5]];
        let at = cam.to_screen(rect, [0.51, 0.5]);
        let hit = nearest(&pts, &cam, rect, at, 5.0, |_| true);
        assert!(hit == Some(1) || hit == Some(2));
        assert_eq!(nearest(&pts, &cam, rect, at, 5.0, |i| i == 0), None);
        let far = cam.to_screen(rect, [0.9, 0.1]);
        assert_eq!(nearest(&pts, &cam, rect, far, 5.0, |_| true), None);
    }
}
