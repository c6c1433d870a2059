//! Searching a pgvector table: one pooled connection per searching thread,
//! each holding a transaction open with its search setting made by `SET
//! LOCAL` (so the connection is never left changed), and prepared
//! statements: a query is one round trip, as a client sees it.

use std::sync::{Arc, Mutex};

use postgres::{Client, Config, Statement};

use super::load::encode;
use super::sql::{operator, to_annscope_distance};
use super::{connect_with, driver_error, Target, ENGINE};
use crate::distance::Metric;
use crate::engine::EngineBackend;
use crate::error::{Error, Result};
use crate::index::param_spec::{PG_EF_SEARCH, PG_PROBES};
use crate::index::{AllowList, Neighbors, ParamMap, SearchKnob, SearchParams, SearchStats};

/// What a connection's open transaction is set up for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Through the index, with this setting.
    Index(SearchKnob),
    /// Through the index, only allowed rows, with pgvector's iterative scan.
    Filtered(SearchKnob),
    /// The exact scan: index scans off.
    Exact,
}

struct Conn {
    client: Client,
    mode: Option<Mode>,
    search: Option<Statement>,
    /// Per allowed column.
    filtered: Vec<(String, Statement)>,
    exact: Option<Statement>,
}

/// The prefix of the columns a filtered bench marks allowed rows in
/// (tables annscope created only).
pub const ALLOWED_COLUMN: &str = "annscope_allowed";

/// Searches one table; shared by threads (see the module doc).
pub struct PgSearcher {
    config: Config,
    shown_url: String,
    password: Option<String>,
    target: Target,
    metric: Metric,
    pool: Mutex<Vec<Conn>>,
    /// The allow lists marked in the table and their columns (set by
    /// [`super::PgVector::mark_allowed`]): a filtered search with a list not
    /// marked is refused, never answered for the wrong rows.
    allowed: Mutex<Vec<(Arc<AllowList>, String)>>,
}

impl PgSearcher {
    pub(super) fn new(
        config: Config,
        shown_url: String,
        password: Option<String>,
        target: Target,
        metric: Metric,
    ) -> Self {
        PgSearcher {
            config,
            shown_url,
            password,
            target,
            metric,
            pool: Mutex::new(Vec::new()),
            allowed: Mutex::new(Vec::new()),
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    fn fail(&self, doing: &str, e: postgres::Error) -> Error {
        driver_error(doing, &e, self.password.as_deref())
    }

    /// Runs `work` on a pooled connection (a new one when none is free); a
    /// connection that failed is not returned to the pool.
    fn with_conn<T>(&self, work: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let pooled = self.pool.lock().map_err(|_| poisoned())?.pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => Conn {
                client: connect_with(&self.config, &self.shown_url, self.password.as_deref())?,
                mode: None,
                search: None,
                filtered: Vec::new(),
                exact: None,
            },
        };
        let out = work(&mut conn);
        if out.is_ok() {
            self.pool.lock().map_err(|_| poisoned())?.push(conn);
        }
        out
    }

    /// Records which allow list each allowed column holds.
    pub(super) fn set_allowed(&self, marked: Vec<(Arc<AllowList>, String)>) -> Result<()> {
        *self.allowed.lock().map_err(|_| poisoned())? = marked;
        Ok(())
    }

    /// The `SET LOCAL` statements of a mode.
    fn settings(&self, mode: Mode) -> Result<String> {
        let knob = |knob: SearchKnob| -> Result<String> {
            Ok(match knob {
                SearchKnob::Default => String::new(),
                SearchKnob::Ef(ef) => {
                    PG_EF_SEARCH.check(ef)?;
                    format!("SET LOCAL hnsw.ef_search = {ef}; ")
                }
                SearchKnob::Probe(p) => {
                    PG_PROBES.check(p)?;
                    format!("SET LOCAL ivfflat.probes = {p}; ")
                }
                SearchKnob::DynamicEf(_) => {
                    return Err(Error::InvalidParameter(
                        "pgvector has no dynamic ef: give ef_search values (--ef 10,40,…)".into(),
                    ))
                }
            })
        };
        Ok(match mode {
            Mode::Index(k) => knob(k)?,
            // pgvector 0.8's iterative scans: keep scanning the index until
            // enough allowed rows are found (relaxed order, re-sorted below).
            Mode::Filtered(k) => format!(
                "{}SET LOCAL hnsw.iterative_scan = relaxed_order; \
                 SET LOCAL ivfflat.iterative_scan = relaxed_order; ",
                knob(k)?
            ),
            Mode::Exact => "SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off; \
                            SET LOCAL enable_indexonlyscan = off; "
                .into(),
        })
    }

    /// Puts `conn` in `mode`: closes its transaction if another mode holds
    /// it, and opens one with the mode's settings.
    fn enter(&self, conn: &mut Conn, mode: Mode) -> Result<()> {
        if conn.mode == Some(mode) {
            return Ok(());
        }
        let settings = self.settings(mode)?;
        let close = if conn.mode.is_some() { "COMMIT; " } else { "" };
        conn.client
            .batch_execute(&format!("{close}BEGIN; {settings}"))
            .map_err(|e| self.fail("setting the search parameters", e))?;
        conn.mode = Some(mode);
        Ok(())
    }

    /// The filtered search: allowed rows only; pgvector's relaxed order
    /// re-sorted in a materialised CTE, as its documentation does it.
    fn filtered_sql(&self, column: &str) -> String {
        let t = &self.target;
        format!(
            "WITH relaxed AS MATERIALIZED (SELECT {id}::bigint AS id, ({col} {op} $1)::float8 AS d \
             FROM {table} WHERE {allowed} ORDER BY {col} {op} $1 LIMIT $2) SELECT id, d FROM relaxed ORDER BY d",
            id = t.id_sql,
            col = t.column_sql,
            op = operator(self.metric),
            table = t.table_sql,
            allowed = super::sql::ident(column),
        )
    }

    fn statement_sql(&self, exclude: bool) -> String {
        let t = &self.target;
        let op = operator(self.metric);
        let filter = if exclude {
            format!("WHERE {} <> $3::bigint ", t.id_sql)
        } else {
            String::new()
        };
        format!(
            "SELECT {id}::bigint, ({col} {op} $1)::float8 FROM {table} {filter}ORDER BY {col} {op} $1 LIMIT $2",
            id = t.id_sql,
            col = t.column_sql,
            table = t.table_sql,
        )
    }

    fn run(
        &self,
        conn: &mut Conn,
        stmt: &Statement,
        query: &[f32],
        k: usize,
        exclude: Option<i64>,
    ) -> Result<Neighbors> {
        let value = encode(self.target.column_type, query);
        let limit = k as i64;
        let rows = match exclude {
            Some(id) => conn.client.query(stmt, &[value.as_sql(), &limit, &id]),
            None => conn.client.query(stmt, &[value.as_sql(), &limit]),
        }
        .map_err(|e| self.fail("search", e))?;
        let mut out = Neighbors {
            ids: Vec::with_capacity(rows.len()),
            distances: Vec::with_capacity(rows.len()),
            stats: SearchStats::default(),
        };
        for row in rows {
            let id: i64 = row.get(0);
            let distance: f64 = row.get(1);
            out.ids.push(self.row_id(id)?);
            out.distances
                .push(to_annscope_distance(self.metric, distance));
        }
        Ok(out)
    }
}

impl PgSearcher {
    /// Ends every pooled connection's open transaction, releasing its
    /// locks: before an index is dropped or the table is, which would
    /// otherwise wait for them.
    pub fn release(&self) -> Result<()> {
        let mut pool = self.pool.lock().map_err(|_| poisoned())?;
        for conn in pool.iter_mut() {
            if conn.mode.take().is_some() {
                conn.client
                    .batch_execute("COMMIT")
                    .map_err(|e| self.fail("ending the search transaction", e))?;
            }
        }
        Ok(())
    }

    /// `n` rows sampled from the table, seeded (the same table and seed
    /// give the same rows): their ids and vectors.
    pub fn sample_rows(&self, n: usize, seed: u64) -> Result<(Vec<u32>, Vec<Vec<f32>>)> {
        let t = &self.target;
        let share = (300.0 * n as f64 / t.rows.max(1) as f64).min(100.0);
        let seed = seed % 1_000_000_007;
        let sql = |share: f64| {
            format!(
                "SELECT {id}::bigint, {col}::vector FROM {table} TABLESAMPLE BERNOULLI ({share}) \
                 REPEATABLE ({seed}) ORDER BY md5({id}::text || '{seed}') LIMIT {n}",
                id = t.id_sql,
                col = t.column_sql,
                table = t.table_sql,
            )
        };
        self.with_conn(|conn| {
            let mut rows = conn
                .client
                .query(&sql(share), &[])
                .map_err(|e| self.fail("sampling queries", e))?;
            if rows.len() < n && share < 100.0 {
                rows = conn
                    .client
                    .query(&sql(100.0), &[])
                    .map_err(|e| self.fail("sampling queries", e))?;
            }
            if rows.len() < n {
                return Err(Error::Engine {
                    engine: ENGINE,
                    problem: format!(
                        "--sample-queries {n}: {} holds only {} rows",
                        t.table_name,
                        rows.len()
                    ),
                });
            }
            let mut ids = Vec::with_capacity(n);
            let mut vectors = Vec::with_capacity(n);
            for row in rows {
                let id: i64 = row.get(0);
                let v: pgvector::Vector = row.get(1);
                ids.push(self.row_id(id)?);
                vectors.push(v.to_vec());
            }
            Ok((ids, vectors))
        })
    }

    /// The distance from `query` to each of `ids` (None: no such row).
    pub fn distances_to(&self, query: &[f32], ids: &[u32]) -> Result<Vec<Option<f32>>> {
        let t = &self.target;
        let sql = format!(
            "SELECT {id}::bigint, ({col} {op} $1)::float8 FROM {table} WHERE {id} = ANY($2::bigint[])",
            id = t.id_sql,
            col = t.column_sql,
            op = operator(self.metric),
            table = t.table_sql,
        );
        let wanted: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
        self.with_conn(|conn| {
            let value = encode(t.column_type, query);
            let rows = conn
                .client
                .query(&sql, &[value.as_sql(), &wanted])
                .map_err(|e| self.fail("reading distances", e))?;
            let mut out = vec![None; ids.len()];
            for row in rows {
                let id: i64 = row.get(0);
                let d: f64 = row.get(1);
                for (slot, &want) in out.iter_mut().zip(&wanted) {
                    if want == id {
                        *slot = Some(to_annscope_distance(self.metric, d));
                    }
                }
            }
            Ok(out)
        })
    }

    /// An id from the table as a row number annscope can use.
    fn row_id(&self, id: i64) -> Result<u32> {
        u32::try_from(id).map_err(|_| Error::Engine {
            engine: ENGINE,
            problem: format!(
                "id {id} in {} is not a row number annscope can use (0 to {})",
                self.target.table_name,
                u32::MAX
            ),
        })
    }
}

fn poisoned() -> Error {
    Error::Internal("a pgvector connection pool lock was poisoned".into())
}

impl EngineBackend for PgSearcher {
    fn name(&self) -> &'static str {
        ENGINE
    }

    fn search(&self, query: &[f32], params: &SearchParams) -> Result<Neighbors> {
        if let Some(filter) = &params.filter {
            let column = self
                .allowed
                .lock()
                .map_err(|_| poisoned())?
                .iter()
                .find(|(marked, _)| Arc::ptr_eq(marked, filter))
                .map(|(_, column)| column.clone())
                .ok_or_else(|| {
                    Error::Internal(
                        "a filtered pgvector search needs its allow list marked in the table first"
                            .into(),
                    )
                })?;
            return self.with_conn(|conn| {
                self.enter(conn, Mode::Filtered(params.knob))?;
                let stmt = match conn.filtered.iter().find(|(c, _)| *c == column) {
                    Some((_, stmt)) => stmt.clone(),
                    None => {
                        let stmt = conn
                            .client
                            .prepare(&self.filtered_sql(&column))
                            .map_err(|e| self.fail("preparing the filtered search", e))?;
                        conn.filtered.push((column.clone(), stmt.clone()));
                        stmt
                    }
                };
                self.run(conn, &stmt, query, params.k, None)
            });
        }
        self.with_conn(|conn| {
            self.enter(conn, Mode::Index(params.knob))?;
            if conn.search.is_none() {
                let sql = self.statement_sql(false);
                conn.search = Some(
                    conn.client
                        .prepare(&sql)
                        .map_err(|e| self.fail("preparing the search", e))?,
                );
            }
            let stmt = conn.search.clone().expect("prepared above");
            self.run(conn, &stmt, query, params.k, None)
        })
    }

    fn exact(&self, query: &[f32], k: usize, exclude: Option<u32>) -> Result<Neighbors> {
        self.with_conn(|conn| {
            self.enter(conn, Mode::Exact)?;
            if conn.exact.is_none() {
                // Two statements' worth: with and without an excluded id.
                let sql = self.statement_sql(true);
                conn.exact = Some(
                    conn.client
                        .prepare(&sql)
                        .map_err(|e| self.fail("preparing the exact scan", e))?,
                );
            }
            let stmt = conn.exact.clone().expect("prepared above");
            // No exclusion: an id no row has.
            let exclude = exclude.map_or(-1, i64::from);
            self.run(conn, &stmt, query, k, Some(exclude))
        })
    }

    fn search_report(&self, knob: SearchKnob) -> ParamMap {
        let mut p = ParamMap::new();
        match knob {
            SearchKnob::Ef(ef) => {
                p.insert("ef_search".into(), ef.into());
            }
            SearchKnob::Probe(probes) => {
                p.insert("probes".into(), probes.into());
            }
            SearchKnob::Default | SearchKnob::DynamicEf(_) => {}
        }
        p
    }
}
