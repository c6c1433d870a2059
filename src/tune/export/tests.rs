use super::*;
use crate::index::HnswParams;

fn hnsw() -> IndexSpec {
    IndexSpec::Hnsw(HnswParams {
        m: 12,
        ef_construction: 100,
        ..HnswParams::default()
    })
}

fn cx(metric: Metric) -> ExportContext<'static> {
    ExportContext {
        metric,
        dim: 384,
        n: 4000,
        k: 10,
        recall: 0.953,
        target: Some(0.95),
        base: Some(Path::new("data/base.fvecs")),
        queries: Some(Path::new("data/query.fvecs")),
        groundtruth: Some(Path::new("data/gt.ivecs")),
    }
}

fn text(format: ExportFormat, metric: Metric) -> Export {
    let params = crate::index::bench_flags(&hnsw(), SearchKnob::Ef(47));
    export(format, &hnsw(), SearchKnob::Ef(47), &params, &cx(metric)).expect("export")
}

#[test]
fn json_formats_parse_and_carry_the_setting_under_each_engines_names() {
    let w: serde_json::Value =
        serde_json::from_str(&text(ExportFormat::Weaviate, Metric::Cosine).text).unwrap();
    assert_eq!(w["vectorIndexType"], "hnsw");
    let c = &w["vectorIndexConfig"];
    assert_eq!(
        (c["maxConnections"].as_u64(), c["efConstruction"].as_u64()),
        (Some(12), Some(100))
    );
    assert_eq!(c["distance"], "cosine");
    // Dynamic ef that gives the tuned ef 47 at limit k = 10.
    assert_eq!(c["ef"].as_i64(), Some(-1));
    let d = DynamicEf {
        min: c["dynamicEfMin"].as_u64().unwrap() as usize,
        max: c["dynamicEfMax"].as_u64().unwrap() as usize,
        factor: c["dynamicEfFactor"].as_u64().unwrap() as usize,
    };
    assert_eq!(d.ef_for(10), 47);
    assert!(d.ef_for(100) > 47, "a larger limit gets more: {d:?}");

    let q: serde_json::Value =
        serde_json::from_str(&text(ExportFormat::Qdrant, Metric::L2).text).unwrap();
    assert_eq!(q["create_collection"]["hnsw_config"]["m"], 12);
    assert_eq!(q["create_collection"]["hnsw_config"]["ef_construct"], 100);
    assert_eq!(q["create_collection"]["vectors"]["distance"], "Euclid");
    assert_eq!(q["create_collection"]["vectors"]["size"], 384);
    assert_eq!(q["search"]["params"]["hnsw_ef"], 47);

    let m: serde_json::Value =
        serde_json::from_str(&text(ExportFormat::Milvus, Metric::InnerProduct).text).unwrap();
    assert_eq!(m["index_params"]["params"]["M"], 12);
    assert_eq!(m["index_params"]["params"]["efConstruction"], 100);
    assert_eq!(m["index_params"]["metric_type"], "IP");
    assert_eq!(m["search_params"]["params"]["ef"], 47);
}

#[test]
fn weaviates_dynamic_ef_gives_the_tuned_ef_at_the_tuned_limit() {
    for k in [1, 10, 100] {
        for ef in [k, k + 1, 47, 99, 100, 600, 1000] {
            let ef = ef.max(k);
            let d = dynamic_ef_for(ef, k);
            assert!(d.validate().is_ok(), "{d:?}");
            assert_eq!(d.ef_for(k), ef, "k {k}, ef {ef}: {d:?}");
            assert!(d.ef_for(10 * k) >= ef);
        }
    }
    // A dynamic setting is exported as it is, and said in the notes.
    let d = DynamicEf {
        min: 60,
        max: 300,
        factor: 5,
    };
    let e = export(
        ExportFormat::Weaviate,
        &hnsw(),
        SearchKnob::DynamicEf(d),
        &crate::index::ParamMap::new(),
        &cx(Metric::Cosine),
    )
    .unwrap();
    let w: serde_json::Value = serde_json::from_str(&e.text).unwrap();
    let c = &w["vectorIndexConfig"];
    assert_eq!(
        (
            c["dynamicEfMin"].as_u64(),
            c["dynamicEfMax"].as_u64(),
            c["dynamicEfFactor"].as_u64()
        ),
        (Some(60), Some(300), Some(5))
    );
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("= 60, the setting measured")),
        "{:?}",
        e.notes
    );
}

#[test]
fn every_engine_export_says_that_graphs_differ() {
    for f in ExportFormat::ALL {
        let e = text(f, Metric::Cosine);
        let said = e
            .notes
            .iter()
            .any(|n| n.contains("Graphs differ between engines"));
        assert_eq!(said, f != ExportFormat::Annscope, "{f:?}: {:?}", e.notes);
    }
}

#[test]
fn pgvector_sql_uses_the_metrics_operator_class_and_pgvectors_ranges() {
    let e = text(ExportFormat::Pgvector, Metric::Cosine);
    assert!(
        e.text.contains(
            "USING hnsw (embedding vector_cosine_ops) WITH (m = 12, ef_construction = 100);"
        ),
        "{}",
        e.text
    );
    assert!(e.text.contains("SET hnsw.ef_search = 47;"));
    assert!(e.text.contains("ORDER BY embedding <=> $1 LIMIT 10"));
    // efConstruction below 2·M is raised to pgvector's minimum, with a note.
    let low = IndexSpec::Hnsw(HnswParams {
        m: 48,
        ef_construction: 64,
        ..HnswParams::default()
    });
    let e = export(
        ExportFormat::Pgvector,
        &low,
        SearchKnob::Ef(2000),
        &Default::default(),
        &cx(Metric::L2),
    )
    .unwrap();
    assert!(
        e.text.contains("WITH (m = 48, ef_construction = 96)"),
        "{}",
        e.text
    );
    assert!(e.text.contains("SET hnsw.ef_search = 1000;"));
    assert_eq!(e.notes.len(), 3, "{:?}", e.notes);
}

#[test]
fn the_annscope_line_is_bench_with_the_picks_flags() {
    let e = text(ExportFormat::Annscope, Metric::Cosine);
    assert!(e.text.starts_with("annscope bench --base data/base.fvecs --queries data/query.fvecs --groundtruth data/gt.ivecs --metric cosine --k 10 --index hnsw"), "{}", e.text);
    assert!(
        e.text.contains("--m 12")
            && e.text.contains("--ef-construction 100")
            && e.text.contains("--ef 47")
    );
    assert!(e.notes.is_empty());
}

#[test]
fn scripts_need_files_python_can_read_and_hfresh_has_no_engine_form() {
    let params = crate::index::ParamMap::new();
    let mut c = cx(Metric::Cosine);
    c.base = Some(Path::new("data/base.csv"));
    let e = export(
        ExportFormat::Faiss,
        &hnsw(),
        SearchKnob::Ef(47),
        &params,
        &c,
    )
    .unwrap_err();
    assert!(e.to_string().contains("reads .fvecs or .npy"), "{e}");
    // Posting lists or codes scanned flat: nothing another engine configures.
    let codes = IndexSpec::FlatCodes(crate::index::spec::FlatCodes {
        quantizer: crate::index::quant::Quantizer::Sq8,
        seed: 1,
    });
    let e = export(
        ExportFormat::Weaviate,
        &codes,
        SearchKnob::Default,
        &params,
        &cx(Metric::L2),
    )
    .unwrap_err();
    assert!(e.to_string().contains("no equivalent"), "{e}");
    let flat = export(
        ExportFormat::Weaviate,
        &IndexSpec::Flat,
        SearchKnob::Default,
        &params,
        &cx(Metric::L2),
    )
    .unwrap();
    assert!(flat.text.contains("\"flat\"") && flat.notes.is_empty());
}
