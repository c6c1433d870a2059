//! How points are coloured in the projection. Each scheme is a
//! [`Colouring`]; [`ColourBy`] lists what the user can pick. A new index
//! kind adds a variant and an implementation (HFresh: by posting list), and
//! the views do not change.

use egui::Color32;

/// A colour for every base point and query, and a legend.
pub trait Colouring {
    fn base(&self, row: usize) -> Color32;
    /// Points of higher rank are drawn later (on top) and larger: the few
    /// that matter stay visible among 100,000 that do not.
    fn rank(&self, _row: usize) -> u8 {
        0
    }
    fn query(&self, i: usize) -> Color32;
    fn legend(&self) -> Vec<(String, Color32)>;
}

/// The colour of unremarkable base points.
pub fn base_grey(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgba_unmultiplied(150, 160, 175, 90)
    } else {
        Color32::from_rgba_unmultiplied(70, 80, 100, 80)
    }
}

/// A deleted node a cleanup has not freed yet.
pub const TOMBSTONE: Color32 = Color32::from_rgb(235, 70, 70);

/// Queries when nothing else colours them.
pub const QUERY: Color32 = Color32::from_rgb(235, 110, 190);

/// One colour per layer, 0 upwards (the last repeats for higher layers).
pub const LAYER_COLOURS: [Color32; 6] = [
    Color32::from_rgb(90, 110, 140),
    Color32::from_rgb(60, 170, 220),
    Color32::from_rgb(90, 200, 110),
    Color32::from_rgb(240, 190, 60),
    Color32::from_rgb(240, 110, 60),
    Color32::from_rgb(220, 60, 200),
];

pub fn layer_colour(layer: usize) -> Color32 {
    LAYER_COLOURS[layer.min(LAYER_COLOURS.len() - 1)]
}

/// Red at recall 0, amber at 0.5, green at 1.
pub fn recall_colour(r: f32) -> Color32 {
    let r = r.clamp(0.0, 1.0);
    let (lo, hi, t) = if r < 0.5 {
        ((220.0, 50.0, 50.0), (240.0, 190.0, 60.0), r * 2.0)
    } else {
        ((240.0, 190.0, 60.0), (60.0, 200.0, 90.0), (r - 0.5) * 2.0)
    };
    let mix = |a: f32, b: f32| (a + (b - a) * t) as u8;
    Color32::from_rgb(mix(lo.0, hi.0), mix(lo.1, hi.1), mix(lo.2, hi.2))
}

/// Every base point grey, queries pink.
pub struct Plain {
    pub dark: bool,
}

impl Colouring for Plain {
    fn base(&self, _: usize) -> Color32 {
        base_grey(self.dark)
    }
    fn query(&self, _: usize) -> Color32 {
        QUERY
    }
    fn legend(&self) -> Vec<(String, Color32)> {
        vec![
            ("base vector".into(), base_grey(self.dark)),
            ("query".into(), QUERY),
        ]
    }
}

/// Base points by where they stand in a Motion run's index: live grey,
/// queued amber, tombstones red (drawn on top), and rows not in the index
/// left out, so a deleted cluster shows as a hole.
pub struct ByMotion<'a> {
    pub marks: &'a [crate::churn::marks::RowMark],
    /// Rows per mark (`marks::counts`, computed once with the marks: the
    /// legend is drawn every frame).
    pub counts: [usize; 4],
    pub dark: bool,
}

impl ByMotion<'_> {
    const QUEUED: Color32 = Color32::from_rgb(240, 170, 40);
    fn mark_colour(&self, m: crate::churn::marks::RowMark) -> Color32 {
        use crate::churn::marks::RowMark;
        match m {
            RowMark::Live => base_grey(self.dark),
            RowMark::Queued => Self::QUEUED,
            RowMark::Tombstone => TOMBSTONE,
            RowMark::Absent => Color32::TRANSPARENT,
        }
    }
}

impl Colouring for ByMotion<'_> {
    fn base(&self, row: usize) -> Color32 {
        self.marks
            .get(row)
            .map_or(Color32::TRANSPARENT, |&m| self.mark_colour(m))
    }
    fn rank(&self, row: usize) -> u8 {
        use crate::churn::marks::RowMark;
        // On top, a little larger; not so large that a burst of deletes
        // hides the live rows around it.
        match self.marks.get(row) {
            Some(RowMark::Tombstone | RowMark::Queued) => 1,
            _ => 0,
        }
    }
    fn query(&self, _: usize) -> Color32 {
        QUERY.gamma_multiply(0.35)
    }
    fn legend(&self) -> Vec<(String, Color32)> {
        crate::churn::marks::RowMark::ALL
            .iter()
            .zip(self.counts)
            .map(|(&m, n)| {
                let c = self.mark_colour(m);
                // Rows left out are named in the legend in grey.
                let c = if c == Color32::TRANSPARENT {
                    base_grey(self.dark).gamma_multiply(0.3)
                } else {
                    c
                };
                (format!("{} ({n})", m.label()), c)
            })
            .collect()
    }
}

/// Base points by their top layer (higher layers stand out).
pub struct ByTopLayer<'a> {
    pub levels: &'a [u8],
    pub dark: bool,
}

impl Colouring for ByTopLayer<'_> {
    fn base(&self, row: usize) -> Color32 {
        match self.levels.get(row) {
            Some(&0) => base_grey(self.dark),
            Some(&l) if l != u8::MAX => layer_colour(l as usize),
            _ => Color32::TRANSPARENT,
        }
    }
    fn rank(&self, row: usize) -> u8 {
        self.levels
            .get(row)
            .copied()
            .filter(|&l| l != u8::MAX)
            .unwrap_or(0)
    }
    fn query(&self, _: usize) -> Color32 {
        // Queries are not in the graph: keep them quiet here.
        QUERY.gamma_multiply(0.35)
    }
    fn legend(&self) -> Vec<(String, Color32)> {
        let top = self
            .levels
            .iter()
            .filter(|&&l| l != u8::MAX)
            .max()
            .copied()
            .unwrap_or(0) as usize;
        let mut out = vec![
            ("layer 0 only".to_string(), base_grey(self.dark)),
            ("query".to_string(), QUERY.gamma_multiply(0.35)),
        ];
        out.extend((1..=top).map(|l| (format!("top layer {l}"), layer_colour(l))));
        out
    }
}

/// Queries by their recall@k; base points grey.
pub struct ByQueryRecall<'a> {
    pub recall: &'a [f32],
    pub dark: bool,
}

impl Colouring for ByQueryRecall<'_> {
    fn base(&self, _: usize) -> Color32 {
        base_grey(self.dark)
    }
    fn query(&self, i: usize) -> Color32 {
        self.recall
            .get(i)
            .map_or(Color32::GRAY, |&r| recall_colour(r))
    }
    fn legend(&self) -> Vec<(String, Color32)> {
        vec![
            ("recall 1".into(), recall_colour(1.0)),
            ("recall 0.5".into(), recall_colour(0.5)),
            ("recall 0".into(), recall_colour(0.0)),
        ]
    }
}

/// Base points by the share of their 10 nearest neighbours kept on the
/// plane: red where the picture misleads, green where it can be believed.
/// Points that keep least are drawn on top, so the warnings show.
pub struct ByNeighboursKept<'a> {
    pub kept: &'a [f32],
}

impl Colouring for ByNeighboursKept<'_> {
    fn base(&self, row: usize) -> Color32 {
        self.kept
            .get(row)
            .map_or(Color32::GRAY, |&k| recall_colour(k).gamma_multiply(0.8))
    }
    fn query(&self, _: usize) -> Color32 {
        QUERY
    }
    fn legend(&self) -> Vec<(String, Color32)> {
        vec![
            ("all 10 neighbours kept".into(), recall_colour(1.0)),
            ("5 of 10 kept".into(), recall_colour(0.5)),
            ("none kept".into(), recall_colour(0.0)),
        ]
    }
}

/// Base points by their primary HFresh posting list: neighbouring lists get
/// different hues (the list id is hashed onto a 12-colour wheel).
pub struct ByPostingList<'a> {
    pub lists: &'a [u32],
    pub dark: bool,
}

/// A colour for a list id, well spread over the hue circle.
pub fn list_colour(list: u32) -> Color32 {
    let h = (list.wrapping_mul(2_654_435_761) >> 20) % 12;
    let hue = h as f32 / 12.0;
    let (r, g, b) = hsv_to_rgb(hue, 0.65, 0.95);
    Color32::from_rgb(r, g, b)
}

fn hsv_to_rgb(h: f32, s: f32, v: f32) -> (u8, u8, u8) {
    let i = (h * 6.0).floor();
    let f = h * 6.0 - i;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s));
    let (r, g, b) = match i as i32 % 6 {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    ((r * 255.0) as u8, (g * 255.0) as u8, (b * 255.0) as u8)
}

impl Colouring for ByPostingList<'_> {
    fn base(&self, row: usize) -> Color32 {
        match self.lists.get(row) {
            Some(&l) if l != u32::MAX => list_colour(l).gamma_multiply(0.8),
            _ => base_grey(self.dark),
        }
    }
    fn query(&self, _: usize) -> Color32 {
        QUERY.gamma_multiply(0.35)
    }
    fn legend(&self) -> Vec<(String, Color32)> {
        let mut distinct: Vec<u32> = self
            .lists
            .iter()
            .copied()
            .filter(|&l| l != u32::MAX)
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        vec![(
            format!(
                "{} posting lists (a colour per list, hues repeat)",
                distinct.len()
            ),
            list_colour(distinct.first().copied().unwrap_or(0)),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_colour_what_they_say() {
        let levels = [0u8, 2, u8::MAX];
        let by_layer = ByTopLayer {
            levels: &levels,
            dark: true,
        };
        assert_eq!(by_layer.base(1), layer_colour(2));
        assert_eq!(by_layer.base(2), Color32::TRANSPARENT);
        assert_eq!(by_layer.legend().len(), 4);
        assert_eq!(by_layer.rank(1), 2);
        assert_eq!(by_layer.rank(2), 0);
        let recall = [1.0f32, 0.0];
        let by_recall = ByQueryRecall {
            recall: &recall,
            dark: false,
        };
        assert_eq!(by_recall.query(0), recall_colour(1.0));
        assert_ne!(by_recall.query(0), by_recall.query(1));
        assert_eq!(recall_colour(1.0), Color32::from_rgb(60, 200, 90));
        assert_eq!(recall_colour(0.0), Color32::from_rgb(220, 50, 50));
    }

    #[test]
    fn motion_state_hides_rows_not_in_the_index_and_puts_tombstones_on_top() {
        use crate::churn::marks::RowMark::*;
        let marks = [Live, Queued, Tombstone, Absent, Tombstone];
        let by = ByMotion {
            marks: &marks,
            counts: crate::churn::marks::counts(&marks),
            dark: false,
        };
        assert_eq!(by.base(0), base_grey(false));
        assert_eq!(by.base(2), TOMBSTONE);
        assert_eq!(
            by.base(3),
            Color32::TRANSPARENT,
            "a deleted cluster is a hole"
        );
        assert_eq!(by.base(9), Color32::TRANSPARENT);
        assert!(by.rank(2) > by.rank(0) && by.rank(1) > by.rank(0));
        let legend = by.legend();
        assert_eq!(legend.len(), 4);
        assert!(legend[0].0.starts_with("live (1)"));
        assert!(legend[2].0.contains("tombstone") && legend[2].0.ends_with("(2)"));
        assert_ne!(legend[3].1, Color32::TRANSPARENT, "named in the legend");
    }
}
