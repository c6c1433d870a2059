//! A tuned setting written the way each engine takes it, ready to paste:
//! Weaviate's collection config, Qdrant's collection and search params,
//! pgvector's SQL, Milvus's index and search params, hnswlib and FAISS as
//! runnable Python, and annscope's own command line.
//!
//! The JSON formats are pure JSON (they parse as they are); what a user
//! must know beside them (graphs differ between engines, a value clamped to
//! an engine's range) is in [`Export::notes`], which the CLI prints on
//! stderr and the app shows beside the text.

use std::path::Path;

use serde_json::json;

use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::index::hnsw::DynamicEf;
use crate::index::{IndexSpec, SearchKnob};

/// Where an exported setting goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Weaviate,
    Qdrant,
    Pgvector,
    Milvus,
    Hnswlib,
    Faiss,
    Annscope,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 7] = [
        ExportFormat::Weaviate,
        ExportFormat::Qdrant,
        ExportFormat::Pgvector,
        ExportFormat::Milvus,
        ExportFormat::Hnswlib,
        ExportFormat::Faiss,
        ExportFormat::Annscope,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Weaviate => "Weaviate",
            ExportFormat::Qdrant => "Qdrant",
            ExportFormat::Pgvector => "pgvector",
            ExportFormat::Milvus => "Milvus",
            ExportFormat::Hnswlib => "hnswlib",
            ExportFormat::Faiss => "FAISS",
            ExportFormat::Annscope => "annscope",
        }
    }
}

/// What the setting was measured on, for the texts that need it.
#[derive(Clone, Copy, Debug)]
pub struct ExportContext<'a> {
    pub metric: Metric,
    pub dim: usize,
    /// Base vectors (hnswlib's max_elements).
    pub n: usize,
    pub k: usize,
    /// The recall annscope measured for the setting (held-out, when tuned).
    pub recall: f64,
    /// The recall target it was tuned for: a script raises ef until its
    /// library's own graph meets it.
    pub target: Option<f64>,
    /// Files, for the runnable scripts and the command line.
    pub base: Option<&'a Path>,
    pub queries: Option<&'a Path>,
    pub groundtruth: Option<&'a Path>,
}

/// An exported setting: the text to paste and what to know about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Export {
    pub format: ExportFormat,
    pub text: String,
    pub notes: Vec<String>,
}

/// The HNSW (or exact) setting an export carries.
struct Setting {
    /// None: an exact (flat) scan.
    hnsw: Option<(usize, usize)>,
    ef: Option<usize>,
    /// Weaviate's dynamic ef (`ef: -1`) that gives `ef` at the tuned k: the
    /// setting itself when it was dynamic, else one derived from `ef`.
    dynamic: Option<DynamicEf>,
}

/// Weaviate's default `dynamicEfMax`.
const WEAVIATE_DYNAMIC_EF_MAX: usize = 500;

/// A dynamic ef that is exactly `ef` at limit `k` (so it meets the target
/// there, by the same measurement) and grows with larger limits: min `ef`,
/// factor ⌊ef / k⌋, max Weaviate's default (or `ef`, when larger).
pub fn dynamic_ef_for(ef: usize, k: usize) -> DynamicEf {
    DynamicEf {
        min: ef,
        max: ef.max(WEAVIATE_DYNAMIC_EF_MAX),
        factor: (ef / k.max(1)).max(1),
    }
}

fn setting(spec: &IndexSpec, knob: SearchKnob, k: usize) -> Result<Setting> {
    let (ef, dynamic) = match knob {
        SearchKnob::Ef(e) => (Some(e.max(k)), Some(dynamic_ef_for(e.max(k), k))),
        SearchKnob::DynamicEf(d) => (Some(d.ef_for(k)), Some(d)),
        _ => (None, None),
    };
    match spec {
        IndexSpec::Hnsw(p) => Ok(Setting {
            hnsw: Some((p.m, p.ef_construction)),
            ef,
            dynamic,
        }),
        IndexSpec::Dynamic(c) => Ok(Setting {
            hnsw: Some((c.hnsw.m, c.hnsw.ef_construction)),
            ef,
            dynamic,
        }),
        IndexSpec::Flat => Ok(Setting {
            hnsw: None,
            ef: None,
            dynamic: None,
        }),
        other => Err(Error::InvalidParameter(format!(
            "{} has no equivalent in other engines' configuration; export it as annscope's command line",
            other.label()
        ))),
    }
}

/// Writes `spec` searched at `knob` in `format`.
pub fn export(
    format: ExportFormat,
    spec: &IndexSpec,
    knob: SearchKnob,
    params: &crate::index::ParamMap,
    cx: &ExportContext,
) -> Result<Export> {
    let mut notes = Vec::new();
    let measured = format!(
        "annscope measured recall@{} {:.3} for this setting on its own HNSW",
        cx.k, cx.recall
    );
    if format != ExportFormat::Annscope {
        let s = setting(spec, knob, cx.k)?;
        if s.hnsw.is_some() {
            notes.push(format!(
                "{measured}. Graphs differ between engines (heuristics, layer-0 degree, build order): verify the recall on {} before production{}.",
                format.name(),
                match format {
                    ExportFormat::Pgvector => " (annscope bench --engine pgvector measures it there)",
                    ExportFormat::Qdrant => " (annscope bench --engine qdrant-edge measures it there)",
                    _ => "",
                }
            ));
        }
        let text = match format {
            ExportFormat::Weaviate => weaviate(&s, cx, &mut notes),
            ExportFormat::Qdrant => qdrant(&s, cx),
            ExportFormat::Pgvector => pgvector(&s, cx, &mut notes),
            ExportFormat::Milvus => milvus(&s, cx.metric),
            ExportFormat::Hnswlib => python(&s, cx, Library::Hnswlib)?,
            ExportFormat::Faiss => python(&s, cx, Library::Faiss)?,
            ExportFormat::Annscope => unreachable!(),
        };
        return Ok(Export {
            format,
            text,
            notes,
        });
    }
    Ok(Export {
        format,
        text: annscope_line(spec, params, cx),
        notes,
    })
}

fn pretty(v: serde_json::Value) -> String {
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

/// Weaviate's collection settings: `vectorIndexType` and
/// `vectorIndexConfig` with `distance`, `maxConnections`, `efConstruction`
/// and `ef` (-1: dynamic, with `dynamicEfMin`, `dynamicEfMax`,
/// `dynamicEfFactor`: ef = limit × factor within [min, max]), as in
/// https://docs.weaviate.io/weaviate/config-refs/indexing/vector-index
/// (HNSW index parameters; a flat index takes `vectorIndexType: "flat"`).
///
/// The tuned ef is written as Weaviate's default form, dynamic ef, set so
/// that a query with the tuned limit gets exactly the tuned ef (what was
/// measured) and a larger limit proportionally more; the fixed form is in
/// the notes.
fn weaviate(s: &Setting, cx: &ExportContext, notes: &mut Vec<String>) -> String {
    let distance = match cx.metric {
        Metric::Cosine => "cosine",
        Metric::L2 => "l2-squared",
        Metric::InnerProduct => "dot",
    };
    match (s.hnsw, s.dynamic) {
        (Some((m, efc)), Some(d)) => {
            notes.push(format!(
                "ef -1 is Weaviate's dynamic ef: with limit {k} it searches with ef = min(max({min}, {k} × {factor}), {max}) = {ef}, the setting measured; larger limits get more. For a fixed ef instead, set \"ef\": {ef} and leave out the dynamicEf fields.",
                k = cx.k,
                min = d.min,
                factor = d.factor,
                max = d.max,
                ef = d.ef_for(cx.k),
            ));
            pretty(json!({
                "vectorIndexType": "hnsw",
                "vectorIndexConfig": {
                    "distance": distance,
                    "maxConnections": m,
                    "efConstruction": efc,
                    "ef": -1,
                    "dynamicEfMin": d.min,
                    "dynamicEfMax": d.max,
                    "dynamicEfFactor": d.factor,
                }
            }))
        }
        (Some((m, efc)), None) => pretty(json!({
            "vectorIndexType": "hnsw",
            "vectorIndexConfig": {
                "distance": distance,
                "maxConnections": m,
                "efConstruction": efc,
            }
        })),
        (None, _) => pretty(json!({
            "vectorIndexType": "flat",
            "vectorIndexConfig": { "distance": distance }
        })),
    }
}

/// Qdrant: the body of `PUT /collections/{name}` (`vectors.size`,
/// `vectors.distance`, `hnsw_config.m`, `hnsw_config.ef_construct`) and the
/// `params` of a query (`hnsw_ef`, `exact`), as in
/// https://api.qdrant.tech/api-reference/collections/create-collection and
/// https://api.qdrant.tech/api-reference/search/query-points.
fn qdrant(s: &Setting, cx: &ExportContext) -> String {
    let distance = match cx.metric {
        Metric::Cosine => "Cosine",
        Metric::L2 => "Euclid",
        Metric::InnerProduct => "Dot",
    };
    let mut collection = json!({ "vectors": { "size": cx.dim, "distance": distance } });
    let params = match s.hnsw {
        Some((m, efc)) => {
            collection["hnsw_config"] = json!({ "m": m, "ef_construct": efc });
            json!({ "hnsw_ef": s.ef, "exact": false })
        }
        None => json!({ "exact": true }),
    };
    pretty(json!({
        "create_collection": collection,
        "search": { "limit": cx.k, "params": params }
    }))
}

/// pgvector: `CREATE INDEX … USING hnsw (… ops) WITH (m, ef_construction)`
/// and `SET hnsw.ef_search`, as in https://github.com/pgvector/pgvector
/// (HNSW section); pgvector's ranges (m 2–100, ef_construction ≥ 2·m,
/// ef_search 1–1000) are kept, with a note when a value moves.
/// annscope's (M, efConstruction) as pgvector takes them (m 2–100,
/// ef_construction from 2·m to 1000), and a note when they moved.
pub fn pgvector_build(m: usize, efc: usize) -> ((usize, usize), Option<String>) {
    let pm = m.clamp(2, 100);
    let pefc = efc.clamp(2 * pm, 1000);
    let note = ((pm, pefc) != (m, efc)).then(|| {
        format!("pgvector takes m 2–100 and ef_construction from 2·m to 1000: M {m}, efConstruction {efc} became m {pm}, ef_construction {pefc}")
    });
    ((pm, pefc), note)
}

fn pgvector(s: &Setting, cx: &ExportContext, notes: &mut Vec<String>) -> String {
    let ops = match cx.metric {
        Metric::Cosine => "vector_cosine_ops",
        Metric::L2 => "vector_l2_ops",
        Metric::InnerProduct => "vector_ip_ops",
    };
    let operator = match cx.metric {
        Metric::Cosine => "<=>",
        Metric::L2 => "<->",
        Metric::InnerProduct => "<#>",
    };
    let table = format!(
        "-- A table of {} vectors of dimension {}:\n-- CREATE TABLE items (id bigint PRIMARY KEY, embedding vector({}));\n",
        cx.n, cx.dim, cx.dim
    );
    let query = format!(
        "SELECT id FROM items ORDER BY embedding {operator} $1 LIMIT {};\n",
        cx.k
    );
    let Some((m, efc)) = s.hnsw else {
        return format!("{table}-- An exact scan: no index; every query reads every row.\n{query}");
    };
    let ((pm, pefc), moved) = pgvector_build(m, efc);
    let ef = s.ef.unwrap_or(40).clamp(1, 1000);
    notes.extend(moved);
    if Some(ef) != s.ef {
        notes.push(format!(
            "pgvector's ef_search is at most 1000: ef {:?} became {ef}",
            s.ef
        ));
    }
    format!(
        "{table}CREATE INDEX ON items USING hnsw (embedding {ops}) WITH (m = {pm}, ef_construction = {pefc});\n\
         -- Per session (or SET LOCAL inside a transaction):\n\
         SET hnsw.ef_search = {ef};\n{query}"
    )
}

/// Milvus: `create_index` params (`index_type`, `metric_type`,
/// `params.M`, `params.efConstruction`) and search params (`params.ef`), as
/// in https://milvus.io/docs/hnsw.md.
fn milvus(s: &Setting, metric: Metric) -> String {
    let metric_type = match metric {
        Metric::Cosine => "COSINE",
        Metric::L2 => "L2",
        Metric::InnerProduct => "IP",
    };
    match s.hnsw {
        Some((m, efc)) => pretty(json!({
            "index_params": {
                "index_type": "HNSW",
                "metric_type": metric_type,
                "params": { "M": m, "efConstruction": efc }
            },
            "search_params": { "metric_type": metric_type, "params": { "ef": s.ef } }
        })),
        None => pretty(json!({
            "index_params": { "index_type": "FLAT", "metric_type": metric_type, "params": {} },
            "search_params": { "metric_type": metric_type, "params": {} }
        })),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Library {
    Hnswlib,
    Faiss,
}

/// Refuses a file the exported scripts cannot read (they read .fvecs and
/// .npy), naming it: callers check before the work that would precede an
/// export.
pub fn check_script_file(p: &Path) -> Result<()> {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext, "fvecs" | "npy") {
        return Err(Error::InvalidParameter(format!(
            "{}: the script reads .fvecs or .npy; convert it first, or export another format",
            p.display()
        )));
    }
    Ok(())
}

/// A Python script that reads the vectors, builds the index with the
/// setting, searches and, given the ground truth, prints recall@k (and,
/// below the target on that library's own graph, raises ef until it is
/// met and prints the ef to use):
/// hnswlib's `Index(space, dim)`, `init_index(max_elements, M,
/// ef_construction)`, `set_ef` (https://github.com/nmslib/hnswlib#python-bindings);
/// FAISS's `IndexHNSWFlat(d, M, metric)`, `hnsw.efConstruction`,
/// `hnsw.efSearch` (https://github.com/facebookresearch/faiss/wiki/Faiss-indexes).
fn python(s: &Setting, cx: &ExportContext, lib: Library) -> Result<String> {
    let path = |p: Option<&Path>, what: &str| -> Result<String> {
        let p = p.ok_or_else(|| {
            Error::InvalidParameter(format!("a runnable script needs the {what} file"))
        })?;
        check_script_file(p)?;
        Ok(format!("{:?}", p.display().to_string()))
    };
    let base = path(cx.base, "base")?;
    let queries = path(cx.queries, "query")?;
    let gt = match cx.groundtruth {
        Some(p) => format!("{:?}", p.display().to_string()),
        None => "None".into(),
    };
    let k = cx.k;
    let lib_name = if lib == Library::Faiss {
        "FAISS"
    } else {
        "hnswlib"
    };
    let space = match cx.metric {
        Metric::Cosine => "cosine",
        Metric::L2 => "l2",
        Metric::InnerProduct => "ip",
    };
    let distance = match cx.metric {
        Metric::Cosine => "1 - (b @ q) / (np.linalg.norm(b, axis=1) * np.linalg.norm(q) + 1e-30)",
        Metric::L2 => "((b - q) ** 2).sum(axis=1)",
        Metric::InnerProduct => "-(b @ q)",
    };
    let mut out = format!(
        r#"# Built by annscope: the tuned setting in {lib_name}. annscope measured
# recall@{k} {recall:.3} at ef {ef} on its own graph (tuned for {target}); {lib_name}
# builds its own graph, so with the ground truth this script measures its recall
# and, below annscope's, raises ef until it is reached (and prints the ef to use).
import numpy as np

def read(path):
    if path.endswith(".npy"):
        return np.ascontiguousarray(np.load(path), dtype=np.float32)
    a = np.fromfile(path, dtype=np.int32)
    return np.ascontiguousarray(a.reshape(-1, a[0] + 1)[:, 1:].view(np.float32))

base, queries = read({base}), read({queries})
raw_base, raw_queries = base.copy(), queries.copy()
k, ef, goal = {k}, {ef}, {goal:.3}
"#,
        recall = cx.recall,
        ef = s.ef.unwrap_or(k),
        target = cx
            .target
            .map_or("its target".into(), |t| format!("recall ≥ {t}")),
        // Rounded down: the goal is what annscope measured, not more.
        goal = (cx.recall * 1000.0).floor() / 1000.0,
    );
    let cosine = cx.metric == Metric::Cosine;
    out.push_str(&match (lib, s.hnsw) {
        (Library::Hnswlib, Some((m, efc))) => format!(
            r#"import hnswlib
index = hnswlib.Index(space={space:?}, dim=base.shape[1])
index.init_index(max_elements=len(base), M={m}, ef_construction={efc}, random_seed=42)
index.add_items(base)

def search(ef):
    index.set_ef(ef)
    return index.knn_query(queries, k=k)[0]
"#
        ),
        (Library::Hnswlib, None) => format!(
            r#"import hnswlib
index = hnswlib.BFIndex(space={space:?}, dim=base.shape[1])
index.init_index(max_elements=len(base))
index.add_items(base)

def search(ef):
    return index.knn_query(queries, k=k)[0]
"#
        ),
        (Library::Faiss, hnsw) => {
            let mut t = String::from("import faiss\n");
            if cosine {
                t.push_str("faiss.normalize_L2(base)\nfaiss.normalize_L2(queries)\n");
            }
            let metric = if cx.metric == Metric::L2 {
                "faiss.METRIC_L2"
            } else {
                "faiss.METRIC_INNER_PRODUCT"
            };
            match hnsw {
                Some((m, efc)) => t.push_str(&format!(
                    "index = faiss.IndexHNSWFlat(base.shape[1], {m}, {metric})\nindex.hnsw.efConstruction = {efc}\nindex.add(base)\n\ndef search(ef):\n    index.hnsw.efSearch = ef\n    return index.search(queries, k)[1]\n"
                )),
                None => t.push_str(&format!(
                    "index = faiss.IndexFlat(base.shape[1], {metric})\nindex.add(base)\n\ndef search(ef):\n    return index.search(queries, k)[1]\n"
                )),
            }
            t
        }
    });
    out.push_str(&format!(
        r#"
found = search(ef)
truth_path = {gt}
if truth_path is not None:
    # recall@k as annscope and ann-benchmarks count it: a returned id is a
    # hit when its true distance is within the k-th true neighbour's + 1e-3.
    t = np.fromfile(truth_path, dtype=np.int32)
    truth = t.reshape(-1, t[0] + 1)[:, 1:k + 1]

    def dist(q, ids):
        b = raw_base[np.asarray(ids, dtype=np.int64)]
        return {distance}

    def recall(found):
        hits = 0
        for q, f, g in zip(raw_queries, found.tolist(), truth.tolist()):
            ids = [i for i in dict.fromkeys(f[:k]) if i >= 0]
            if ids:
                hits += int((dist(q, ids) <= dist(q, [g[k - 1]])[0] + 1e-3).sum())
        return hits / (len(truth) * k)

    r = recall(found)
    print(f"recall@{{k}} = {{r:.4f}} at ef {{ef}}")
    while {hnsw} and r < goal and ef < 4096:
        ef = max(ef + 1, int(ef * 1.25))
        r = recall(search(ef))
    if {hnsw} and ef != {ef0}:
        print(f"below annscope's {{goal}}: use ef {{ef}}, where recall@{{k}} = {{r:.4f}}")
    print(f"recall@{{k}} = {{r:.4f}}")
"#,
        hnsw = if s.hnsw.is_some() { "True" } else { "False" },
        ef0 = s.ef.unwrap_or(k),
    ));
    Ok(out)
}

/// annscope's own `bench` line for the setting (the params are bench
/// flags).
fn annscope_line(spec: &IndexSpec, params: &crate::index::ParamMap, cx: &ExportContext) -> String {
    let mut line = String::from("annscope bench");
    let quote = |p: &Path| {
        let s = p.display().to_string();
        if s.contains(char::is_whitespace) {
            format!("{s:?}")
        } else {
            s
        }
    };
    if let Some(b) = cx.base {
        line.push_str(&format!(" --base {}", quote(b)));
    }
    if let Some(q) = cx.queries {
        line.push_str(&format!(" --queries {}", quote(q)));
    }
    if let Some(g) = cx.groundtruth {
        line.push_str(&format!(" --groundtruth {}", quote(g)));
    }
    line.push_str(&format!(
        " --metric {} --k {} --index {}",
        cx.metric.name(),
        cx.k,
        spec.kind().name()
    ));
    for (key, value) in params {
        let v = value.to_string();
        line.push_str(&format!(
            " --{} {}",
            key.replace('_', "-"),
            v.trim_matches('"')
        ));
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests;
