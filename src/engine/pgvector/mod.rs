//! PostgreSQL with pgvector, through the blocking `postgres` client and the
//! `pgvector` crate's `vector`/`halfvec` types.
//!
//! [`PgVector`] is the administrative side (connect, load a table with
//! binary COPY, create and drop indexes, read an existing table's index
//! from the catalog, drop what it created); [`PgSearcher`] is the searching
//! side, shared by the bench's threads, one pooled connection per thread.
//! Search settings (`hnsw.ef_search`, `ivfflat.probes`) are set with `SET
//! LOCAL` inside a transaction held open while the setting stays the same,
//! so a pooled connection is never left changed and a query costs one
//! round trip.

mod catalog;
mod collection;
mod load;
mod search;
pub mod sql;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::{Client, Config, NoTls};

pub use catalog::TableIndex;
pub use collection::{wait_for_cleanups, PgCollection};
pub use load::LoadMethod;
pub use search::PgSearcher;
use sql::{ident, ColumnType};

use super::EngineIndexSpec;
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::progress::WorkContext;

/// The engine's name in messages.
pub const ENGINE: &str = "pgvector";

/// Where the vectors are: a table, its vector column and its id column.
#[derive(Clone, Debug)]
pub struct Target {
    /// Schema-qualified and quoted, ready for SQL.
    pub table_sql: String,
    /// The table as the user named it (or annscope created it).
    pub table_name: String,
    /// Quoted.
    pub column_sql: String,
    /// Quoted.
    pub id_sql: String,
    pub column_type: ColumnType,
    pub dim: usize,
    pub rows: usize,
}

/// How a load went.
#[derive(Clone, Copy, Debug)]
pub struct LoadReport {
    pub rows: usize,
    pub seconds: f64,
}

/// A connection to one PostgreSQL database with pgvector, and what
/// annscope created in it.
pub struct PgVector {
    config: Config,
    password: Option<String>,
    shown_url: String,
    client: Client,
    /// Tables annscope created (dropped by [`PgVector::cleanup`]).
    created_tables: Vec<String>,
    /// Indexes annscope created on tables it did not create.
    created_indexes: Vec<String>,
    /// pgvector's version in this database.
    pub extension_version: String,
}

impl PgVector {
    /// Connects to `url` (a `postgresql://` URL or a key-value string) and
    /// makes sure pgvector is there (creating the extension if the user may).
    pub fn connect(url: &str) -> Result<PgVector> {
        Self::connect_with(url, None)
    }

    /// [`PgVector::connect`] with a password given apart from the URL (the
    /// app's password field), which wins over one in the URL.
    pub fn connect_with(url: &str, password: Option<&str>) -> Result<PgVector> {
        let shown_url = sql::mask_url(url);
        let mut config = Config::from_str(url).map_err(|e| Error::Engine {
            engine: ENGINE,
            problem: format!(
                "{shown_url} is not a PostgreSQL connection URL: {}",
                sql::mask_url(&e.to_string())
            ),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("annscope");
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            config.password(p);
        }
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let mut pg = PgVector {
            client: connect_with(&config, &shown_url, password.as_deref())?,
            config,
            password,
            shown_url,
            created_tables: Vec::new(),
            created_indexes: Vec::new(),
            extension_version: String::new(),
        };
        pg.extension_version = pg.ensure_extension()?;
        // Never wait forever behind another session's lock (DROP, CREATE INDEX).
        pg.client
            .batch_execute("SET lock_timeout = '60s'")
            .map_err(|e| pg.err("SET lock_timeout", e))?;
        Ok(pg)
    }

    /// The URL as it may be shown (password masked).
    pub fn shown_url(&self) -> &str {
        &self.shown_url
    }

    /// An engine error from a driver error, password scrubbed.
    pub(crate) fn err(&self, doing: &str, e: postgres::Error) -> Error {
        driver_error(doing, &e, self.password.as_deref())
    }

    fn ensure_extension(&mut self) -> Result<String> {
        let version = |c: &mut Client| -> std::result::Result<Option<String>, postgres::Error> {
            Ok(c.query_opt(
                "SELECT extversion FROM pg_extension WHERE extname = 'vector'",
                &[],
            )?
            .map(|r| r.get(0)))
        };
        if let Some(v) = version(&mut self.client).map_err(|e| self.err("reading extensions", e))? {
            return Ok(v);
        }
        if let Err(e) = self
            .client
            .batch_execute("CREATE EXTENSION IF NOT EXISTS vector")
        {
            return Err(Error::Engine {
                engine: ENGINE,
                problem: format!(
                    "the pgvector extension is not enabled in {} and annscope may not enable it \
                     ({}): run CREATE EXTENSION vector as a superuser",
                    self.shown_url,
                    scrubbed(&e, self.password.as_deref())
                ),
            });
        }
        version(&mut self.client)
            .map_err(|e| self.err("reading extensions", e))?
            .ok_or_else(|| Error::Engine {
                engine: ENGINE,
                problem: "CREATE EXTENSION vector did not install pgvector".into(),
            })
    }

    /// A searcher over `target` with `metric`, on connections of its own.
    pub fn searcher(&self, target: Target, metric: Metric) -> Arc<PgSearcher> {
        Arc::new(PgSearcher::new(
            self.config.clone(),
            self.shown_url.clone(),
            self.password.clone(),
            target,
            metric,
        ))
    }

    /// Creates the engine's index on `target` and times it; returns its
    /// name, the seconds CREATE INDEX took and its size in bytes. Cancel
    /// (through `ctx`) cancels the statement in the server.
    pub fn create_index(
        &mut self,
        target: &Target,
        spec: EngineIndexSpec,
        metric: Metric,
        ctx: &WorkContext,
    ) -> Result<(String, f64, u64)> {
        spec.validate()?;
        let (schema, table) = sql::split_qualified(&target.table_name);
        let name = format!("{table}_annscope_{}", unique_suffix());
        let name_sql = match &schema {
            Some(s) => format!("{}.{}", ident(s), ident(&name)),
            None => ident(&name),
        };
        let (method, with) = match spec {
            EngineIndexSpec::Hnsw { m, ef_construction } => (
                "hnsw",
                format!("m = {m}, ef_construction = {ef_construction}"),
            ),
            EngineIndexSpec::Ivfflat { lists } => ("ivfflat", format!("lists = {lists}")),
            EngineIndexSpec::QdrantHnsw { .. } => {
                return Err(Error::InvalidParameter(format!(
                    "{} is built by Qdrant, not in PostgreSQL",
                    spec.label()
                )))
            }
        };
        let statement = format!(
            "CREATE INDEX {} ON {} USING {method} ({} {}) WITH ({with})",
            ident(&name),
            target.table_sql,
            target.column_sql,
            sql::opclass(metric, target.column_type)
        );
        ctx.progress.stage("CREATE INDEX (in the server)", 0);
        let started = Instant::now();
        let outcome = with_cancel(&mut self.client, ctx, |c| c.batch_execute(&statement));
        let secs = started.elapsed().as_secs_f64();
        if let Err(e) = outcome {
            if ctx.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            return Err(self.err("CREATE INDEX", e));
        }
        self.created_indexes.push(name_sql.clone());
        let bytes = self.relation_size(&name_sql)?;
        Ok((name_sql, secs, bytes))
    }

    /// Marks the rows each allow list lets through, one boolean column per
    /// list (`annscope_allowed_0`, …), in a table annscope created, before
    /// any vector index exists (so no index entry is rewritten), then
    /// vacuums and analyses it; `searcher`'s filtered searches use them.
    pub fn mark_allowed(
        &mut self,
        searcher: &PgSearcher,
        filters: &[Arc<crate::index::AllowList>],
    ) -> Result<()> {
        let target = searcher.target();
        if !self.created_tables.contains(&target.table_sql) {
            return Err(Error::InvalidParameter(format!(
                "--filter marks rows in a table annscope loaded; {} is the user's: filter with its own columns",
                target.table_name
            )));
        }
        if filters.is_empty() {
            return Ok(());
        }
        let columns: Vec<String> = (0..filters.len())
            .map(|i| format!("{}_{i}", search::ALLOWED_COLUMN))
            .collect();
        let adds: Vec<String> = columns
            .iter()
            .map(|c| format!("ADD COLUMN {} boolean NOT NULL DEFAULT false", ident(c)))
            .collect();
        self.client
            .batch_execute(&format!(
                "ALTER TABLE {} {}",
                target.table_sql,
                adds.join(", ")
            ))
            .map_err(|e| self.err("adding the filter columns", e))?;
        let sets: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "{} = ({} = ANY(${}::bigint[]))",
                    ident(c),
                    target.id_sql,
                    i + 1
                )
            })
            .collect();
        let ids: Vec<Vec<i64>> = filters
            .iter()
            .map(|f| f.ids().map(i64::from).collect())
            .collect();
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = ids
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        self.client
            .execute(
                &format!("UPDATE {} SET {}", target.table_sql, sets.join(", ")),
                &params,
            )
            .map_err(|e| self.err("marking the allowed rows", e))?;
        self.client
            .batch_execute(&format!("VACUUM ANALYZE {}", target.table_sql))
            .map_err(|e| self.err("VACUUM ANALYZE", e))?;
        searcher.set_allowed(filters.iter().cloned().zip(columns).collect())
    }

    /// Drops an index annscope created.
    pub fn drop_index(&mut self, name_sql: &str) -> Result<()> {
        if let Some(i) = self.created_indexes.iter().position(|n| n == name_sql) {
            self.client
                .batch_execute(&format!("DROP INDEX IF EXISTS {name_sql}"))
                .map_err(|e| self.err("DROP INDEX", e))?;
            self.created_indexes.remove(i);
        }
        Ok(())
    }

    /// The size of a relation (table or index) as the server reports it.
    pub fn relation_size(&mut self, relation_sql: &str) -> Result<u64> {
        let row = self
            .client
            .query_one(
                "SELECT pg_relation_size($1::text::regclass)",
                &[&relation_sql],
            )
            .map_err(|e| self.err("reading the index size", e))?;
        Ok(row.get::<_, i64>(0).max(0) as u64)
    }

    /// Tables annscope created and has not dropped.
    pub fn created_tables(&self) -> &[String] {
        &self.created_tables
    }

    /// Forgets the tables annscope created, so cleanup keeps them (`--keep`).
    pub fn keep_tables(&mut self) -> Vec<String> {
        std::mem::take(&mut self.created_tables)
    }

    /// Drops every index and table annscope created, and nothing else.
    pub fn cleanup(&mut self) -> Result<()> {
        let mut first_error = None;
        for name in std::mem::take(&mut self.created_indexes) {
            if let Err(e) = self
                .client
                .batch_execute(&format!("DROP INDEX IF EXISTS {name}"))
            {
                first_error.get_or_insert(self.err("DROP INDEX", e));
            }
        }
        for table in std::mem::take(&mut self.created_tables) {
            if let Err(e) = self
                .client
                .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
            {
                first_error.get_or_insert(self.err("DROP TABLE", e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for PgVector {
    fn drop(&mut self) {
        if let Err(e) = self.cleanup() {
            eprintln!("annscope: warning: could not drop what annscope created: {e}");
        }
    }
}

/// Connects, turning a refusal into a message that names the server
/// (password masked) and the reason.
fn connect_with(config: &Config, shown_url: &str, password: Option<&str>) -> Result<Client> {
    config.connect(NoTls).map_err(|e| Error::Engine {
        engine: ENGINE,
        problem: format!("cannot connect to {shown_url}: {}", scrubbed(&e, password)),
    })
}

/// The driver's message, with the server's own words where there are some,
/// and no password in it.
fn scrubbed(e: &postgres::Error, password: Option<&str>) -> String {
    let text = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    };
    sql::scrub(&sql::mask_url(&text), password)
}

pub(crate) fn driver_error(doing: &str, e: &postgres::Error, password: Option<&str>) -> Error {
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    // 57P01..57P03: administrator, crash or startup shutdown.
    let shutdown = e
        .as_db_error()
        .is_some_and(|db| db.code().code().starts_with("57P0"));
    let problem = if shutdown {
        format!(
            "{doing}: the server ended the connection ({})",
            scrubbed(e, password)
        )
    } else if e.is_closed() || io {
        format!(
            "{doing}: the connection to the server was lost ({})",
            scrubbed(e, password)
        )
    } else {
        format!("{doing}: {}", scrubbed(e, password))
    };
    Error::Engine {
        engine: ENGINE,
        problem,
    }
}

/// Runs `work` on `client`, cancelling the statement in the server if
/// `ctx` is cancelled meanwhile.
fn with_cancel<T>(
    client: &mut Client,
    ctx: &WorkContext,
    work: impl FnOnce(&mut Client) -> std::result::Result<T, postgres::Error>,
) -> std::result::Result<T, postgres::Error> {
    let token = client.cancel_token();
    let cancel = ctx.cancel.clone();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if cancel.is_cancelled() {
                    let _ = token.cancel_query(NoTls);
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let out = work(client);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = watcher.join();
    out
}

/// A suffix no other annscope run picks: process id and clock.
fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}_{:x}", std::process::id(), nanos & 0xFFFF_FFFF)
}
