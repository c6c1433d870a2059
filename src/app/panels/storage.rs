//! The storage controls of an index over codes: the quantizer (each rung
//! with what it holds per vector), where the f32 vectors live, and the vector
//! cache.

use super::*;

/// Resident bytes per vector each rung costs at `dim`, and what it buys.
pub(super) fn rung_help(q: Quantizer, dim: usize) -> String {
    let bytes = q.bytes_per_row(dim);
    match q {
        Quantizer::Pq { m } => format!(
            "{bytes} B per vector: {m} sub-vectors of {} values, each one byte naming one of 256 centroids learnt by k-means. Coarse: re-scoring matters.",
            dim / (m as usize).max(1)
        ),
        Quantizer::Opq { m } => format!(
            "{bytes} B per vector: as pq:{m}, after a rotation learnt on the data (OPQ) that spreads the variance evenly over the sub-vectors. Usually a better ranking than pq:{m} for one {dim} × {dim} product per query."
        ),
        Quantizer::Bq => format!(
            "{bytes} B per vector: one bit per value (its sign after centring), compared by popcount, as Weaviate's and Qdrant's binary quantization. The cheapest walk; needs a large oversample."
        ),
        Quantizer::None => format!(
            "No codes: searches walk the f16 copy ({} B per vector) or the f32 vectors ({} B).",
            dim * 2,
            dim * 4
        ),
        Quantizer::Sq8 => format!(
            "{bytes} B per vector: a byte per value over each dimension's range. Nearly the f32 ranking."
        ),
        Quantizer::Sq4 => format!(
            "{bytes} B per vector: four bits per value. Needs oversample about 2 to re-score its way back to the f32 recall."
        ),
        Quantizer::RaBitQ { bits } => format!(
            "{bytes} B per vector: a random rotation, then {bits} bit(s) per value, with an error bound that skips re-scores that cannot change the answer.{}",
            if bits == 1 { " One bit needs oversample 4 or more." } else { "" }
        ),
    }
}

/// The quantizer the walk reads and where the f32 vectors live. Returns
/// whether either changed (a rebuild).
pub(super) fn storage_ui(
    ui: &mut Ui,
    storage: &mut crate::index::Storage,
    dim: usize,
    disk_allowed: bool,
) -> bool {
    let before = (storage.quantizer, storage.vectors);
    let mut choices = vec![
        Quantizer::None,
        Quantizer::Sq8,
        Quantizer::Sq4,
        Quantizer::RaBitQ { bits: 1 },
        Quantizer::RaBitQ { bits: 4 },
        Quantizer::RaBitQ { bits: 8 },
    ];
    // Product codes of 4 and 8 values per byte, where they divide the dimension.
    for per in [4, 8] {
        if dim.is_multiple_of(per) && dim / per <= usize::from(u16::MAX) {
            let m = (dim / per) as u16;
            choices.extend([Quantizer::Pq { m }, Quantizer::Opq { m }]);
        }
    }
    choices.push(Quantizer::Bq);
    egui::ComboBox::from_label("Quantizer")
        .selected_text(storage.quantizer.to_string())
        .show_ui(ui, |ui| {
            for q in choices {
                ui.selectable_value(&mut storage.quantizer, q, q.to_string())
                    .on_hover_text(rung_help(q, dim));
            }
        })
        .response
        .on_hover_text(format!(
            "{}

Now: {}",
            param_spec::quantizer_help(),
            rung_help(storage.quantizer, dim)
        ));
    let disk_ok = !storage.quantizer.is_none() && disk_allowed;
    if !disk_ok {
        storage.vectors = VectorPlace::Ram;
    }
    ui.add_enabled_ui(disk_ok, |ui| {
        egui::ComboBox::from_label("f32 vectors")
            .selected_text(match storage.vectors {
                VectorPlace::Ram => "in RAM",
                VectorPlace::Disk => "on disk",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut storage.vectors, VectorPlace::Ram, "in RAM")
                    .on_hover_text(format!("{} B per vector held for re-scoring.", dim * 4));
                ui.selectable_value(&mut storage.vectors, VectorPlace::Disk, "on disk")
                    .on_hover_text("Read from the mapped base file only to re-score: the graph and codes are all the index holds; a re-score may wait for the disk when the file is not cached.");
            })
            .response
            .on_hover_text(param_spec::VECTORS_HELP)
            .on_disabled_hover_text("On disk needs a quantizer (the walk reads the codes), an HNSW index (the dynamic one takes inserts) and a base file of f32 rows (.fvecs, float32 .npy).");
    });
    let mut cache_done = false;
    if storage.vectors == VectorPlace::Disk {
        ui.horizontal(|ui| {
            let label = ui.label("Vector cache");
            let r = ui
                .add(egui::DragValue::new(&mut storage.vector_cache).range(0..=100_000_000))
                .labelled_by(label.id)
                .on_hover_text(format!(
                    "Weaviate's vector cache: keep at most this many full vectors in RAM ({} B each), filled as re-scores read them; when full, all are dropped at once. 0: none (every re-score reads the mapped file, which the OS page cache may hold).",
                    dim * 4
                ));
            // A dragged or typed value rebuilds once done, not on every step.
            cache_done = r.drag_stopped()
                || r.lost_focus()
                || (r.changed() && !r.dragged() && !r.has_focus());
        });
    } else {
        storage.vector_cache = 0;
    }
    before != (storage.quantizer, storage.vectors) || cache_done
}
