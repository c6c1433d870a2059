//! Loading a dataset into a new table: `CREATE TABLE annscope_…`, one
//! binary COPY (the `vector` type looked up by OID first, as the pgvector
//! crate's loading example does), the primary key added after the rows
//! (faster than maintaining it row by row), then ANALYZE.

use std::time::Instant;

use pgvector::{HalfVector, Vector};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{Kind, ToSql, Type};

use super::sql::{ident, ColumnType};
use super::{unique_suffix, LoadReport, PgVector, Target, ENGINE};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::progress::WorkContext;

/// How rows reach the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LoadMethod {
    /// One binary COPY: what annscope uses.
    Copy,
    /// One INSERT per row, in one transaction: only to compare with COPY.
    Insert,
}

/// Rows between progress reports and cancel checks.
const BATCH: usize = 1024;

impl PgVector {
    /// Creates a new table `annscope_…` holding `base` (ids = row numbers)
    /// in a `vector` or `halfvec` column, and returns where it is. The
    /// table is dropped by cleanup unless kept; a cancelled or failed load
    /// drops it at once.
    pub fn load(
        &mut self,
        base: &Dataset,
        column: ColumnType,
        method: LoadMethod,
        ctx: &WorkContext,
    ) -> Result<(Target, LoadReport)> {
        if base.is_empty() {
            return Err(Error::InvalidParameter(format!(
                "{} holds no vectors to load",
                base.display_name()
            )));
        }
        let max_dim = 16_000;
        if base.dim() > max_dim {
            return Err(Error::Engine {
                engine: ENGINE,
                problem: format!(
                    "{} has dimension {}: pgvector's {} holds at most {max_dim}",
                    base.display_name(),
                    base.dim(),
                    column.name()
                ),
            });
        }
        // NaN, infinities, zero vectors under cosine: refused as for every index.
        base.validate(ctx)?;
        if column == ColumnType::Halfvec {
            check_half_range(base)?;
        }
        let name = format!("annscope_{}", unique_suffix());
        let target = Target {
            table_sql: ident(&name),
            table_name: name,
            column_sql: ident("embedding"),
            id_sql: ident("id"),
            column_type: column,
            dim: base.dim(),
            rows: base.len(),
        };
        self.client
            .batch_execute(&format!(
                "CREATE TABLE {} ({} bigint NOT NULL, {} {}({}) NOT NULL)",
                target.table_sql,
                target.id_sql,
                target.column_sql,
                column.name(),
                base.dim()
            ))
            .map_err(|e| self.err("CREATE TABLE", e))?;
        self.created_tables.push(target.table_sql.clone());
        let started = Instant::now();
        let loaded = match method {
            LoadMethod::Copy => self.copy_rows(&target, base, ctx),
            LoadMethod::Insert => self.insert_rows(&target, base, ctx),
        };
        if let Err(e) = loaded {
            let _ = self.drop_created_table(&target.table_sql);
            return Err(e);
        }
        let keyed = self.client.batch_execute(&format!(
            "ALTER TABLE {} ADD PRIMARY KEY ({}); ANALYZE {}",
            target.table_sql, target.id_sql, target.table_sql
        ));
        if let Err(e) = keyed {
            let err = self.err("adding the primary key", e);
            let _ = self.drop_created_table(&target.table_sql);
            return Err(err);
        }
        let report = LoadReport {
            rows: base.len(),
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok((target, report))
    }

    fn drop_created_table(&mut self, table_sql: &str) -> Result<()> {
        self.created_tables.retain(|t| t != table_sql);
        self.client
            .batch_execute(&format!("DROP TABLE IF EXISTS {table_sql}"))
            .map_err(|e| self.err("DROP TABLE", e))
    }

    /// The type `name` (vector, halfvec) as this database numbers it.
    fn lookup_type(&mut self, name: &str) -> Result<Type> {
        let row = self
            .client
            .query_one(
                "SELECT pg_type.oid, nspname AS schema FROM pg_type \
                 INNER JOIN pg_namespace ON pg_namespace.oid = pg_type.typnamespace \
                 WHERE typname = $1",
                &[&name],
            )
            .map_err(|e| self.err(&format!("looking up the type {name}"), e))?;
        Ok(Type::new(
            name.into(),
            row.get("oid"),
            Kind::Simple,
            row.get("schema"),
        ))
    }

    fn copy_rows(&mut self, target: &Target, base: &Dataset, ctx: &WorkContext) -> Result<()> {
        let vector_type = self.lookup_type(target.column_type.name())?;
        let password = self.password.clone();
        let fail =
            |doing: &str, e: postgres::Error| super::driver_error(doing, &e, password.as_deref());
        let writer = self
            .client
            .copy_in(&format!(
                "COPY {} ({}, {}) FROM STDIN WITH (FORMAT BINARY)",
                target.table_sql, target.id_sql, target.column_sql
            ))
            .map_err(|e| fail("COPY", e))?;
        let mut writer = BinaryCopyInWriter::new(writer, &[Type::INT8, vector_type]);
        ctx.progress
            .stage("loading into PostgreSQL", base.len() as u64);
        for (i, row) in base.vectors().rows().enumerate() {
            if i % BATCH == 0 {
                // Dropping the writer unfinished aborts the COPY.
                ctx.cancel.check()?;
                ctx.progress.set(i as u64);
            }
            let id = i as i64;
            let value = encode(target.column_type, row);
            writer
                .write(&[&id, value.as_sql()])
                .map_err(|e| fail("COPY", e))?;
        }
        writer.finish().map_err(|e| fail("COPY", e))?;
        ctx.progress.set(base.len() as u64);
        Ok(())
    }

    fn insert_rows(&mut self, target: &Target, base: &Dataset, ctx: &WorkContext) -> Result<()> {
        let password = self.password.clone();
        let fail =
            |doing: &str, e: postgres::Error| super::driver_error(doing, &e, password.as_deref());
        let mut tx = self.client.transaction().map_err(|e| fail("BEGIN", e))?;
        let stmt = tx
            .prepare(&format!(
                "INSERT INTO {} ({}, {}) VALUES ($1, $2)",
                target.table_sql, target.id_sql, target.column_sql
            ))
            .map_err(|e| fail("INSERT", e))?;
        ctx.progress
            .stage("inserting into PostgreSQL", base.len() as u64);
        for (i, row) in base.vectors().rows().enumerate() {
            if i % BATCH == 0 {
                ctx.cancel.check()?;
                ctx.progress.set(i as u64);
            }
            let value = encode(target.column_type, row);
            tx.execute(&stmt, &[&(i as i64), value.as_sql()])
                .map_err(|e| fail("INSERT", e))?;
        }
        tx.commit().map_err(|e| fail("COMMIT", e))
    }
}

/// A vector as the column's type.
pub(super) enum Encoded {
    Vector(Vector),
    Halfvec(HalfVector),
}

impl Encoded {
    pub(super) fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Encoded::Vector(v) => v,
            Encoded::Halfvec(v) => v,
        }
    }
}

pub(super) fn encode(column: ColumnType, row: &[f32]) -> Encoded {
    match column {
        ColumnType::Vector => Encoded::Vector(Vector::from(row.to_vec())),
        ColumnType::Halfvec => Encoded::Halfvec(HalfVector::from_f32_slice(row)),
    }
}

/// Refuses values a halfvec cannot hold (|x| > 65504), naming the row,
/// before anything is created.
fn check_half_range(base: &Dataset) -> Result<()> {
    for (i, row) in base.vectors().rows().enumerate() {
        if let Some(v) = row.iter().find(|v| v.abs() > 65504.0) {
            return Err(Error::InvalidParameter(format!(
                "{}: row {i}: value {v} does not fit a halfvec (at most 65504): store vector instead",
                base.display_name()
            )));
        }
    }
    Ok(())
}
