//! The base points as a picture: rasterised off the UI thread, drawn as one
//! textured quad.
//!
//! A mesh of every point, rebuilt each frame, costs the UI thread
//! milliseconds per 100,000 points (and the GPU driver as much again in
//! uploads), and a view left open while a build runs takes that from the
//! build every frame. Here the points are painted into an image by a
//! background job (bands of rows on every core, each band reading every
//! point: no two threads write one pixel, so the picture is the same
//! whatever the thread count) only when what it shows changes: the data,
//! the layout, the colouring or the camera. Between pictures the last one
//! is drawn moved and scaled to the current camera (a pan or zoom is a
//! translation and scale of the plane), so panning a million points costs
//! the UI thread one quad per frame; a new picture is asked for as soon as
//! the previous job lands, at most one at a time.

use std::sync::Arc;

use egui::{Color32, ColorImage, Pos2, Rect, TextureHandle, TextureOptions};
use rayon::prelude::*;

use super::canvas::Camera;
use crate::job::Job;

/// Rows per band of the picture one task paints.
const BAND_ROWS: usize = 32;

/// What a picture shows: which points, coloured how, seen how.
#[derive(Clone, Debug, PartialEq)]
pub struct PictureKey {
    /// The points' identity (the layout's allocation) and count.
    pub points: (usize, usize),
    /// The colouring's identity (changes when any colour changes).
    pub colours: u64,
    pub camera: Camera,
    pub rect: Rect,
    pub pixels_per_point: f32,
}

/// The points and their look, shared with the painting job.
#[derive(Clone)]
pub struct PointStyle {
    pub points: Arc<dyn AsRef<[[f32; 2]]> + Send + Sync>,
    /// One colour per point (premultiplied).
    pub colours: Arc<Vec<Color32>>,
    /// Point indices in drawing order (later on top).
    pub order: Arc<Vec<u32>>,
    /// Extra radius of each point in `order`'s position (raised points).
    pub grow: Arc<Vec<f32>>,
    pub radius: f32,
}

/// A picture of the points, and the one being painted.
#[derive(Default)]
pub struct PointPicture {
    shown: Option<(PictureKey, TextureHandle)>,
    painting: Option<(PictureKey, Job<ColorImage>)>,
}

impl PointPicture {
    /// Draws the latest picture moved to `key`'s camera, and asks for a
    /// new one when it shows something else (unless one is being
    /// painted). `style` is called only when a picture is asked for.
    pub fn draw(
        &mut self,
        ctx: &egui::Context,
        painter: &egui::Painter,
        key: PictureKey,
        style: impl FnOnce() -> PointStyle,
    ) {
        if let Some((k, job)) = &mut self.painting {
            if let Some(r) = job.try_take() {
                let k = k.clone();
                self.painting = None;
                if let Ok(image) = r {
                    let texture = match self.shown.take() {
                        Some((_, mut t)) => {
                            t.set(image, TextureOptions::LINEAR);
                            t
                        }
                        None => ctx.load_texture("points", image, TextureOptions::LINEAR),
                    };
                    self.shown = Some((k, texture));
                }
            }
        }
        let stale = self.shown.as_ref().is_none_or(|(k, _)| *k != key);
        if stale && self.painting.is_none() {
            let style = style();
            let notify_ctx = ctx.clone();
            let k = key.clone();
            let job = Job::spawn_notify(
                "points-picture",
                move |_| Ok(paint(&k, &style)),
                move || notify_ctx.request_repaint(),
            );
            self.painting = Some((key.clone(), job));
        }
        if let Some((shown, texture)) = &self.shown {
            // The picture's corners, through the plane, to the current view.
            if shown.points.0 == key.points.0 {
                let a = shown.camera.to_world(shown.rect, shown.rect.min);
                let b = shown.camera.to_world(shown.rect, shown.rect.max);
                let at = Rect::from_two_pos(
                    key.camera.to_screen(key.rect, a),
                    key.camera.to_screen(key.rect, b),
                );
                painter.image(
                    texture.id(),
                    at,
                    Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
                    Color32::WHITE,
                );
            }
        }
    }
}

/// Paints `style`'s points as `key` sees them: squares of the point's
/// radius, edges covered by their share of the pixel, blended over.
pub fn paint(key: &PictureKey, style: &PointStyle) -> ColorImage {
    let ppp = key.pixels_per_point;
    let w = (key.rect.width() * ppp).round().max(1.0) as usize;
    let h = (key.rect.height() * ppp).round().max(1.0) as usize;
    let points = (*style.points).as_ref();
    // Each point's square in pixels: (x0, y0, x1, y1), colour.
    let squares: Vec<([f32; 4], Color32)> = style
        .order
        .iter()
        .zip(style.grow.iter())
        .filter_map(|(&i, &grow)| {
            let p = *points.get(i as usize)?;
            let at = key.camera.to_screen(key.rect, p);
            let (x, y) = ((at.x - key.rect.min.x) * ppp, (at.y - key.rect.min.y) * ppp);
            let r = (style.radius + grow) * ppp;
            let sq = [x - r, y - r, x + r, y + r];
            let inside = sq[2] > 0.0 && sq[3] > 0.0 && sq[0] < w as f32 && sq[1] < h as f32;
            let colour = style.colours.get(i as usize).copied()?;
            (inside && colour.a() > 0).then_some((sq, colour))
        })
        .collect();
    let mut pixels = vec![Color32::TRANSPARENT; w * h];
    pixels
        .par_chunks_mut(w * BAND_ROWS)
        .enumerate()
        .for_each(|(band, rows)| {
            let top = (band * BAND_ROWS) as f32;
            let bottom = top + (rows.len() / w) as f32;
            for &(sq, colour) in &squares {
                if sq[3] <= top || sq[1] >= bottom {
                    continue;
                }
                fill(rows, w, top, bottom, sq, colour);
            }
        });
    ColorImage::new([w, h], pixels)
}

/// Blends `colour` over the square `sq` within the band `top..bottom`.
#[inline]
fn fill(rows: &mut [Color32], w: usize, top: f32, bottom: f32, sq: [f32; 4], colour: Color32) {
    let x0 = sq[0].max(0.0).floor() as usize;
    let x1 = (sq[2].min(w as f32).ceil() as usize).min(w);
    let y0 = sq[1].max(top).floor() as usize;
    let y1 = sq[3].min(bottom).ceil() as usize;
    let cover = |p: usize, lo: f32, hi: f32| -> f32 {
        let (a, b) = (p as f32, p as f32 + 1.0);
        (b.min(hi) - a.max(lo)).clamp(0.0, 1.0)
    };
    let band_top = top as usize;
    for y in y0..y1 {
        let cy = cover(y, sq[1], sq[3]);
        let row = &mut rows[(y - band_top) * w..(y - band_top + 1) * w];
        for (x, px) in row.iter_mut().enumerate().take(x1).skip(x0) {
            let c = cy * cover(x, sq[0], sq[2]);
            if c <= 0.0 {
                continue;
            }
            *px = over(colour.gamma_multiply(c), *px);
        }
    }
}

/// Premultiplied "over".
#[inline]
fn over(src: Color32, dst: Color32) -> Color32 {
    let keep = 255 - src.a() as u16;
    let mix = |s: u8, d: u8| (s as u16 + (d as u16 * keep + 127) / 255).min(255) as u8;
    Color32::from_rgba_premultiplied(
        mix(src.r(), dst.r()),
        mix(src.g(), dst.g()),
        mix(src.b(), dst.b()),
        mix(src.a(), dst.a()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(camera: Camera) -> PictureKey {
        PictureKey {
            points: (1, 3),
            colours: 0,
            camera,
            rect: Rect::from_min_size(Pos2::ZERO, egui::vec2(100.0, 50.0)),
            pixels_per_point: 1.0,
        }
    }

    fn style(points: Vec<[f32; 2]>) -> PointStyle {
        let n = points.len();
        PointStyle {
            points: Arc::new(points),
            colours: Arc::new(vec![Color32::from_rgb(200, 10, 10); n]),
            order: Arc::new((0..n as u32).collect()),
            grow: Arc::new(vec![0.0; n]),
            radius: 2.0,
        }
    }

    /// A point is painted where the camera puts it on screen, and nowhere
    /// else; the picture is the same on one thread and on several.
    #[test]
    fn points_land_where_the_camera_puts_them() {
        let camera = Camera::fit(([0.0, 0.0], [10.0, 10.0]));
        let k = key(camera);
        let s = style(vec![[0.0, 0.0], [10.0, 10.0], [5.0, 5.0]]);
        let img = paint(&k, &s);
        assert_eq!(img.size, [100, 50]);
        for p in [[0.0, 0.0], [10.0, 10.0], [5.0, 5.0]] {
            let at = camera.to_screen(k.rect, p);
            let px = img.pixels[at.y as usize * 100 + at.x as usize];
            assert_eq!(px, Color32::from_rgb(200, 10, 10), "at {at:?}");
        }
        let painted = img.pixels.iter().filter(|c| c.a() > 0).count();
        assert!((3 * 16..=3 * 25).contains(&painted), "{painted} pixels");
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool")
            .install(|| paint(&k, &s));
        assert_eq!(one.pixels, img.pixels);
    }

    #[test]
    fn later_points_are_drawn_over_earlier_ones() {
        let camera = Camera::fit(([0.0, 0.0], [10.0, 10.0]));
        let k = key(camera);
        let mut s = style(vec![[5.0, 5.0], [5.0, 5.0]]);
        s.colours = Arc::new(vec![Color32::RED, Color32::BLUE]);
        let at = camera.to_screen(k.rect, [5.0, 5.0]);
        let px = |s: &PointStyle| paint(&k, s).pixels[at.y as usize * 100 + at.x as usize];
        assert_eq!(px(&s), Color32::BLUE);
        s.order = Arc::new(vec![1, 0]);
        assert_eq!(px(&s), Color32::RED);
    }
}
