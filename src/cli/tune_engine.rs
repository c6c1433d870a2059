//! `annscope tune --engine pgvector|qdrant-edge`: once annscope's HNSW has
//! given the pick, its build is made once on the engine (pgvector: the
//! base loaded into a new table by binary COPY, then CREATE INDEX; Qdrant:
//! its engine in this process) and the engine's own ef is found there by
//! the tuner's rule ([`crate::tune::verify`]). Everything annscope created
//! in the server is dropped at the end.

use std::sync::Arc;

use crate::dataset::Dataset;
use crate::engine::pgvector::{sql::ColumnType, LoadMethod, PgSearcher, PgVector};
use crate::engine::{EngineIndex, EngineIndexSpec, EngineKind};
use crate::index::param_spec::{PG_EF_SEARCH, QD_HNSW_EF};
use crate::index::{IndexSpec, SearchKnob};
use crate::progress::WorkContext;
use crate::tune::verify::{check_on_engine, engine_ef_range, CheckInputs, EngineCheck};
use crate::tune::{ExportFormat, Target, TuneInputs, TunedPoint};

/// The engine a pick is checked on, connected (pgvector) before the
/// tuning starts, so a wrong URL is said at once, not minutes later.
pub(super) enum EngineSession {
    Pgvector(Box<PgVector>),
    #[cfg_attr(not(feature = "qdrant"), allow(dead_code))]
    QdrantEdge,
}

impl EngineSession {
    pub(super) fn open(kind: EngineKind, url: Option<&str>) -> anyhow::Result<EngineSession> {
        match kind {
            EngineKind::Pgvector => {
                let url = match url {
                    Some(u) => u.to_string(),
                    None => std::env::var(super::args::URL_ENV).map_err(|_| {
                        anyhow::anyhow!(
                            "--engine pgvector needs --engine-url (or {}), e.g. postgresql://user:password@127.0.0.1:5432/postgres",
                            super::args::URL_ENV
                        )
                    })?,
                };
                let pg = PgVector::connect(&url)?;
                eprintln!(
                    "annscope: connected to {} (pgvector {}): the pick will be checked there",
                    pg.shown_url(),
                    pg.extension_version
                );
                Ok(EngineSession::Pgvector(Box::new(pg)))
            }
            EngineKind::QdrantEdge => {
                if url.is_some() {
                    anyhow::bail!(
                        "--engine-url: Qdrant edge runs in this process; it takes no URL"
                    );
                }
                if cfg!(feature = "qdrant") {
                    Ok(EngineSession::QdrantEdge)
                } else {
                    anyhow::bail!(
                        "--engine qdrant-edge: this annscope was built without Qdrant; build it with `cargo build --release --features qdrant`"
                    )
                }
            }
        }
    }
}

/// What the check needs from the tuning run.
pub(super) struct PickToCheck {
    pub spec: IndexSpec,
    pub knob: SearchKnob,
    pub inputs: Arc<TuneInputs>,
    pub target: Target,
    /// The largest ef the tuner itself could pick.
    pub ef_max: usize,
}

/// The engine's build settings for annscope's (M, efConstruction), clamped
/// to what the engine takes, with a note when they moved.
fn engine_spec(session: &EngineSession, m: usize, efc: usize) -> (EngineIndexSpec, Option<String>) {
    match session {
        EngineSession::Pgvector(_) => {
            let ((pm, pefc), note) = crate::tune::export::pgvector_build(m, efc);
            (
                EngineIndexSpec::Hnsw {
                    m: pm,
                    ef_construction: pefc,
                },
                note,
            )
        }
        EngineSession::QdrantEdge => (
            EngineIndexSpec::QdrantHnsw {
                m,
                ef_construct: efc,
                quantization: crate::engine::QdrantQuantization::None,
            },
            None,
        ),
    }
}

/// Builds the pick on the engine and checks it there; `on_point` gets
/// every point measured (phase `engine`). `Ok(None)` with a reason when
/// the pick has no engine form (flat: an exact scan is exact everywhere;
/// HFresh: no engine has it).
pub(super) fn check_pick(
    session: EngineSession,
    pick: PickToCheck,
    on_point: impl FnMut(&TunedPoint) + Send + 'static,
) -> anyhow::Result<Result<EngineCheck, String>> {
    let (m, efc) = match &pick.spec {
        IndexSpec::Hnsw(h) => (h.m, h.ef_construction),
        IndexSpec::Flat => {
            return Ok(Err(
                "the pick is the exact (flat) scan: an engine's exact scan returns the same, nothing to check".into(),
            ))
        }
        other => {
            return Ok(Err(format!(
                "{} has no engine form: nothing to check",
                other.label()
            )))
        }
    };
    let annscope_ef = pick.knob.value().unwrap_or(pick.target.k);
    let (spec, note) = engine_spec(&session, m, efc);
    if let Some(n) = note {
        eprintln!("annscope: note: {n}");
    }
    spec.validate()?;
    let (engine_max, export_as) = match session {
        EngineSession::Pgvector(_) => (PG_EF_SEARCH.max, ExportFormat::Pgvector),
        EngineSession::QdrantEdge => (QD_HNSW_EF.max, ExportFormat::Qdrant),
    };
    let ef_range = engine_ef_range(pick.target.k, annscope_ef, pick.ef_max, engine_max);
    let check = super::io::with_progress("tune: engine", move |ctx| {
        let mut on_point = on_point;
        let (index, engine, mut pg) = match session {
            EngineSession::Pgvector(pg) => {
                let (index, engine, pg, searcher) =
                    pgvector_index(*pg, &pick.inputs.base, spec, ctx)?;
                (index, engine, Some((pg, searcher)))
            }
            EngineSession::QdrantEdge => (
                qdrant_index(&pick.inputs.base, spec, ctx)?,
                "Qdrant edge".to_string(),
                None,
            ),
        };
        let inputs = CheckInputs {
            base: &pick.inputs.base,
            split: &pick.inputs.split,
            target: &pick.target,
            engine,
            annscope_ef,
            ef_range,
            export_as: Some(export_as),
        };
        let (build_s, bytes) = (index.build_secs, index.index_bytes);
        let check = check_on_engine(&index, build_s, bytes, &inputs, ctx, &mut on_point);
        drop(index);
        if let Some((pg, searcher)) = pg.as_mut() {
            // The searcher's transactions end first, then the table they
            // read is dropped.
            searcher.release()?;
            pg.cleanup()?;
        }
        check
    })?;
    Ok(Ok(check))
}

/// Loads the base into a new table (binary COPY) and creates pgvector's
/// HNSW on it.
fn pgvector_index(
    mut pg: PgVector,
    base: &Arc<Dataset>,
    spec: EngineIndexSpec,
    ctx: &WorkContext,
) -> crate::error::Result<(EngineIndex, String, PgVector, Arc<PgSearcher>)> {
    let metric = base.metric();
    let (target, load) = pg.load(base, ColumnType::Vector, LoadMethod::Copy, ctx)?;
    eprintln!(
        "annscope: loaded {} rows into {} in {:.2} s",
        load.rows, target.table_name, load.seconds
    );
    let (_name, build_s, bytes) = pg.create_index(&target, spec, metric, ctx)?;
    eprintln!(
        "annscope: CREATE INDEX ({}) took {build_s:.1} s, {bytes} bytes",
        spec.label()
    );
    let searcher = pg.searcher(target, metric);
    let index = super::engine::engine_index(&searcher, spec, metric, bytes, build_s);
    let engine = format!("pgvector {}", pg.extension_version);
    Ok((index, engine, pg, searcher))
}

#[cfg(feature = "qdrant")]
fn qdrant_index(
    base: &Arc<Dataset>,
    spec: EngineIndexSpec,
    ctx: &WorkContext,
) -> crate::error::Result<EngineIndex> {
    crate::engine::qdrant::build_index(base, spec, ctx)
}

#[cfg(not(feature = "qdrant"))]
fn qdrant_index(
    _base: &Arc<Dataset>,
    _spec: EngineIndexSpec,
    _ctx: &WorkContext,
) -> crate::error::Result<EngineIndex> {
    Err(crate::error::Error::InvalidParameter(
        "this annscope was built without Qdrant (--features qdrant)".into(),
    ))
}
