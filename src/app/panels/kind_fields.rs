//! The build settings of a kind whose family lists them as fields
//! ([`crate::index::family::Field`]): drawn from the list, so a new kind
//! needs no code here.

use super::*;
use crate::index::family::Field;

/// Draws `fields` over `spec`; true when a change needs a rebuild.
pub(super) fn fields_ui(
    ui: &mut Ui,
    spec: &mut IndexSpec,
    fields: &[Field],
    dim: usize,
    disk_vectors: bool,
) -> bool {
    let mut rebuild = false;
    for field in fields {
        match *field {
            Field::Count {
                label,
                spec: p,
                get,
                set,
                slider,
            } => {
                let mut v = get(spec);
                let before = v;
                let r = if slider {
                    ui.add(egui::Slider::new(&mut v, p.usual.0..=p.usual.1).text(label))
                        .on_hover_text(p.help)
                } else {
                    ui.horizontal(|ui| {
                        let name = ui.label(label);
                        ui.add(egui::DragValue::new(&mut v).range(p.usual.0..=p.usual.1))
                            .labelled_by(name.id)
                            .on_hover_text(p.help)
                    })
                    .inner
                };
                if v != before {
                    set(spec, v);
                }
                rebuild |= settled(&r);
            }
            Field::Real {
                label,
                spec: p,
                get,
                set,
            } => {
                let mut v = get(spec);
                let before = v;
                let r = ui
                    .add(egui::Slider::new(&mut v, p.usual.0..=p.usual.1).text(label))
                    .on_hover_text(p.help);
                if v != before {
                    set(spec, v);
                }
                rebuild |= settled(&r);
            }
            Field::Storage => {
                if let Some(storage) = spec.storage_mut() {
                    rebuild |= storage_ui(ui, storage, dim, disk_vectors);
                }
            }
            Field::HalfSearch { label, help } => {
                let Some(storage) = spec.storage_mut() else {
                    continue;
                };
                // Codes hold no vectors to store at half precision.
                let vectors = storage.quantizer.is_none();
                ui.add_enabled_ui(vectors, |ui| {
                    rebuild |= half_checkbox(ui, &mut storage.search, label, help)
                        .on_disabled_hover_text("The index holds codes (Quantizer), not vectors.")
                        .changed();
                });
            }
        }
    }
    rebuild
}

/// A change is final when a drag ends, a typed value is left, or a click
/// or key changes it outside a drag.
fn settled(r: &egui::Response) -> bool {
    r.drag_stopped() || r.lost_focus() || (r.changed() && !r.dragged())
}
