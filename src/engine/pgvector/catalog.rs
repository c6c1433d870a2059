//! An existing table, read from the catalog and never changed: its vector
//! column (found by itself when there is one), its id column (the primary
//! key), its row count, and the pgvector index on that column with its
//! build parameters (`m`, `ef_construction` or `lists`, pgvector's defaults
//! where the index was created without them) and metric (from the
//! operator class).

use super::sql::{self, ColumnType};
use super::{PgVector, Target, ENGINE};
use crate::distance::Metric;
use crate::engine::EngineIndexSpec;
use crate::error::{Error, Result};

/// The pgvector index an existing table has on its vector column.
#[derive(Clone, Debug)]
pub struct TableIndex {
    /// Quoted, schema-qualified.
    pub name_sql: String,
    pub spec: EngineIndexSpec,
    pub metric: Metric,
    pub bytes: u64,
}

fn engine_err(problem: String) -> Error {
    Error::Engine {
        engine: ENGINE,
        problem,
    }
}

impl PgVector {
    /// Describes `table` (optionally `schema.table`) and the pgvector index
    /// on its vector column; `column` and `id_column` choose when the
    /// catalog alone cannot.
    pub fn describe_table(
        &mut self,
        table: &str,
        column: Option<&str>,
        id_column: Option<&str>,
    ) -> Result<(Target, TableIndex)> {
        let table_sql = sql::qualified(table);
        let oid: Option<u32> = self
            .client
            .query_one("SELECT to_regclass($1)::oid", &[&table_sql])
            .map_err(|e| self.err("looking up the table", e))?
            .get(0);
        let oid = oid.ok_or_else(|| {
            engine_err(format!("there is no table {table} in {}", self.shown_url))
        })?;
        let columns: Vec<(String, String, i16)> = self
            .client
            .query(
                "SELECT attname::text, format_type(atttypid, atttypmod), attnum FROM pg_attribute \
                 WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                &[&oid],
            )
            .map_err(|e| self.err("reading the table's columns", e))?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let vector_columns: Vec<&(String, String, i16)> = columns
            .iter()
            .filter(|(_, ty, _)| ColumnType::from_catalog(ty).is_some())
            .collect();
        let chosen = match column {
            Some(c) => columns
                .iter()
                .find(|(n, _, _)| n == c)
                .ok_or_else(|| engine_err(format!("{table} has no column named {c}")))?,
            None => match vector_columns.as_slice() {
                [] => {
                    return Err(engine_err(format!(
                        "{table} has no vector or halfvec column (its columns: {})",
                        columns
                            .iter()
                            .map(|c| c.0.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
                [one] => *one,
                many => {
                    return Err(engine_err(format!(
                        "{table} has several vector columns ({}): choose one with --column",
                        many.iter()
                            .map(|c| c.0.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
            },
        };
        let (col_name, col_type, col_num) = chosen.clone();
        let column_type = ColumnType::from_catalog(&col_type).ok_or_else(|| {
            engine_err(format!(
                "{table}.{col_name} is {col_type}, not a vector or halfvec column"
            ))
        })?;
        let id_name = match id_column {
            Some(i) => columns
                .iter()
                .find(|(n, _, _)| n == i)
                .map(|c| c.0.clone())
                .ok_or_else(|| engine_err(format!("{table} has no column named {i}")))?,
            None => self.primary_key(oid, table)?,
        };
        let column_sql = sql::ident(&col_name);
        let dim = match dim_of(&col_type) {
            Some(d) => d,
            None => {
                let row = self
                    .client
                    .query_opt(
                        &format!(
                            "SELECT vector_dims({column_sql}) FROM {table_sql} WHERE {column_sql} IS NOT NULL LIMIT 1"
                        ),
                        &[],
                    )
                    .map_err(|e| self.err("reading the vectors' dimension", e))?;
                row.map(|r| r.get::<_, i32>(0) as usize)
                    .ok_or_else(|| engine_err(format!("{table} holds no vectors")))?
            }
        };
        let rows: i64 = self
            .client
            .query_one(&format!("SELECT count(*) FROM {table_sql}"), &[])
            .map_err(|e| self.err("counting rows", e))?
            .get(0);
        let index = self.vector_index(oid, col_num, table, &col_name)?;
        let target = Target {
            table_sql,
            table_name: table.to_string(),
            column_sql,
            id_sql: sql::ident(&id_name),
            column_type,
            dim,
            rows: rows.max(0) as usize,
        };
        Ok((target, index))
    }

    fn primary_key(&mut self, oid: u32, table: &str) -> Result<String> {
        let keys: Vec<String> = self
            .client
            .query(
                "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a \
                 ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                 WHERE i.indrelid = $1 AND i.indisprimary",
                &[&oid],
            )
            .map_err(|e| self.err("reading the primary key", e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        match keys.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(engine_err(format!(
                "{table} has no primary key: name the id column with --id-column"
            ))),
            _ => Err(engine_err(format!(
                "{table}'s primary key has several columns ({}): name the id column with --id-column",
                keys.join(", ")
            ))),
        }
    }

    fn vector_index(
        &mut self,
        oid: u32,
        column: i16,
        table: &str,
        col_name: &str,
    ) -> Result<TableIndex> {
        let found: Vec<(String, String, Vec<String>, String, i64)> = self
            .client
            .query(
                "SELECT format('%I.%I', n.nspname, ic.relname), am.amname::text, \
                        coalesce(ic.reloptions, '{}'), opc.opcname::text, pg_relation_size(ic.oid) \
                 FROM pg_index i \
                 JOIN pg_class ic ON ic.oid = i.indexrelid \
                 JOIN pg_namespace n ON n.oid = ic.relnamespace \
                 JOIN pg_am am ON am.oid = ic.relam \
                 JOIN pg_opclass opc ON opc.oid = i.indclass[0] \
                 WHERE i.indrelid = $1 AND i.indkey[0] = $2 AND am.amname IN ('hnsw', 'ivfflat') \
                 ORDER BY ic.relname",
                &[&oid, &column],
            )
            .map_err(|e| self.err("reading the table's indexes", e))?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect();
        let (name_sql, method, options, opclass, bytes) =
            match found.as_slice() {
                [] => {
                    return Err(engine_err(format!(
                        "{table}.{col_name} has no pgvector index (hnsw or ivfflat) to measure"
                    )))
                }
                [one] => one.clone(),
                many => {
                    return Err(engine_err(format!(
                    "{table}.{col_name} has several pgvector indexes ({}): annscope measures a \
                     table with one, as the planner's choice among several is not annscope's",
                    many.iter().map(|i| i.0.as_str()).collect::<Vec<_>>().join(", ")
                )))
                }
            };
        let option = |key: &str, default: usize| -> Result<usize> {
            match options
                .iter()
                .find_map(|o| o.strip_prefix(&format!("{key}=")))
            {
                Some(v) => v
                    .parse()
                    .map_err(|_| engine_err(format!("{name_sql}: cannot read {key} = {v}"))),
                None => Ok(default),
            }
        };
        let spec = match method.as_str() {
            "hnsw" => EngineIndexSpec::Hnsw {
                m: option("m", 16)?,
                ef_construction: option("ef_construction", 64)?,
            },
            _ => EngineIndexSpec::Ivfflat {
                lists: option("lists", 100)?,
            },
        };
        let metric = sql::metric_of_opclass(&opclass).ok_or_else(|| {
            engine_err(format!(
                "{name_sql} uses the operator class {opclass}, which annscope does not measure \
                 (cosine, l2 and ip are measured)"
            ))
        })?;
        Ok(TableIndex {
            name_sql,
            spec,
            metric,
            bytes: bytes.max(0) as u64,
        })
    }
}

/// The dimension in a catalog type name (`vector(384)` → 384).
fn dim_of(type_name: &str) -> Option<usize> {
    let inner = type_name.split_once('(')?.1.strip_suffix(')')?;
    inner.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dimension_from_type_name() {
        assert_eq!(super::dim_of("vector(384)"), Some(384));
        assert_eq!(super::dim_of("halfvec(3)"), Some(3));
        assert_eq!(super::dim_of("vector"), None);
    }
}
