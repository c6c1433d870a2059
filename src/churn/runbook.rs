//! Runbooks as big-ann-benchmarks' streaming track writes them: under a
//! dataset key, `max_pts` (the most rows live at once) and numbered steps,
//! each an `insert` or `delete` of base rows `start..end`, a `replace`
//! (tags `tags_start..tags_end` take the vectors of rows
//! `ids_start..ids_end`, keeping their tags), or a `search` over the query
//! file.
//!
//! A tag is a row of the base file: an insert of rows 10..20 writes tags
//! 10..19. annscope adds one key of its own, `order`: a generated runbook
//! with a clustered insert order addresses the base through a seeded
//! permutation (rows grouped by cluster), so its ranges stay ranges; the
//! tag is still the row in the file. A runbook without it uses the file's
//! order, as big-ann's do.
//!
//! Before anything runs, the whole runbook is checked against the base:
//! every refusal names its step.

use std::fmt::Write as _;

use yaml_rust2::{Yaml, YamlLoader};

use crate::error::{Error, Result};

/// One step's operation. Ranges are half-open positions in the runbook's
/// order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Insert {
        start: usize,
        end: usize,
    },
    Delete {
        start: usize,
        end: usize,
    },
    Replace {
        tags_start: usize,
        tags_end: usize,
        ids_start: usize,
        ids_end: usize,
    },
    Search,
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Insert { .. } => "insert",
            Op::Delete { .. } => "delete",
            Op::Replace { .. } => "replace",
            Op::Search => "search",
        }
    }
    /// Rows written by this step (a delete writes its rows' tombstones).
    pub fn rows_written(&self) -> usize {
        match *self {
            Op::Insert { start, end } | Op::Delete { start, end } => end - start,
            Op::Replace {
                tags_start,
                tags_end,
                ..
            } => tags_end - tags_start,
            Op::Search => 0,
        }
    }
}

/// A numbered step: `key` is the runbook's own number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub key: u64,
    pub op: Op,
}

/// How the runbook's positions map to base rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Position i is row i (big-ann's runbooks).
    File,
    /// Rows grouped by the nearest of `clusters` seeded centroids
    /// ([`super::order::clustered`]).
    Clustered { clusters: usize, seed: u64 },
}

/// A runbook for one dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runbook {
    /// The dataset key it was read under or generated for.
    pub name: String,
    pub max_pts: usize,
    pub order: Order,
    /// In the order they run (by key).
    pub steps: Vec<Step>,
}

fn bad(source: &str, what: String) -> Error {
    Error::InvalidParameter(format!("{source}: {what}"))
}

fn key_text(k: &Yaml) -> String {
    match k {
        Yaml::String(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

fn count(source: &str, step: &str, v: &Yaml, field: &str) -> Result<usize> {
    match v {
        Yaml::Integer(i) if *i >= 0 => Ok(*i as usize),
        Yaml::BadValue => Err(bad(source, format!("{step}: `{field}` is missing"))),
        other => Err(bad(
            source,
            format!(
                "{step}: `{field}` is {}, not a whole number ≥ 0",
                key_text(other)
            ),
        )),
    }
}

impl Runbook {
    /// Reads the runbook file at `path` and checks it against a base of
    /// `n` rows (a file that is not text is refused as such, naming it).
    pub fn read(path: &std::path::Path, key: Option<&str>, n: usize) -> Result<Runbook> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => Error::Format {
                path: path.to_path_buf(),
                problem: "not a runbook: the file is not text (UTF-8 YAML)".into(),
            },
            _ => Error::io(path, e),
        })?;
        let source = path.display().to_string();
        let book = Runbook::parse(&text, key, &source)?;
        book.check(n, &source)?;
        Ok(book)
    }

    /// Reads a runbook from YAML text (`source` names it in messages).
    /// `key` picks the dataset when the file holds several.
    pub fn parse(text: &str, key: Option<&str>, source: &str) -> Result<Runbook> {
        let docs =
            YamlLoader::load_from_str(text).map_err(|e| bad(source, format!("not YAML: {e}")))?;
        let root = match docs.as_slice() {
            [Yaml::Hash(h)] => h,
            [] => return Err(bad(source, "empty: no runbook in it".into())),
            [_] => {
                return Err(bad(
                    source,
                    "not a runbook: the top level is not a mapping of dataset names".into(),
                ))
            }
            _ => {
                return Err(bad(
                    source,
                    "several YAML documents: give one runbook per file".into(),
                ))
            }
        };
        let names: Vec<String> = root.keys().map(key_text).collect();
        let (name, body) = match key {
            Some(k) => {
                let body = root.get(&Yaml::String(k.to_string())).ok_or_else(|| {
                    bad(
                        source,
                        format!("no dataset key `{k}` (it has: {})", names.join(", ")),
                    )
                })?;
                (k.to_string(), body)
            }
            None if root.len() == 1 => {
                let (k, v) = root.iter().next().expect("one entry");
                (key_text(k), v)
            }
            None => {
                return Err(bad(
                    source,
                    format!(
                        "{} dataset keys ({}): choose one with --runbook-key",
                        root.len(),
                        names.join(", ")
                    ),
                ))
            }
        };
        let Yaml::Hash(body) = body else {
            return Err(bad(source, format!("`{name}` is not a mapping of steps")));
        };
        let mut max_pts = None;
        let mut order = Order::File;
        let mut steps = Vec::new();
        for (k, v) in body {
            match k {
                Yaml::Integer(i) if *i >= 0 => steps.push(Self::step(source, *i as u64, v)?),
                Yaml::String(s) if s == "max_pts" => {
                    max_pts = Some(count(source, "max_pts", v, "max_pts")?)
                }
                Yaml::String(s) if s == "gt_url" => {}
                Yaml::String(s) if s == "order" => order = Self::order(source, v)?,
                other => {
                    return Err(bad(
                        source,
                        format!(
                            "unknown key `{}` under `{name}` (steps are numbered; other keys: max_pts, gt_url, order)",
                            key_text(other)
                        ),
                    ))
                }
            }
        }
        let max_pts = max_pts.ok_or_else(|| bad(source, format!("`{name}` has no `max_pts`")))?;
        if steps.is_empty() {
            return Err(bad(source, format!("`{name}` has no numbered steps")));
        }
        steps.sort_by_key(|s| s.key);
        Ok(Runbook {
            name,
            max_pts,
            order,
            steps,
        })
    }

    fn step(source: &str, key: u64, v: &Yaml) -> Result<Step> {
        let at = format!("step {key}");
        let Yaml::Hash(_) = v else {
            return Err(bad(
                source,
                format!("{at}: not a mapping with an `operation`"),
            ));
        };
        let f = |field: &str| count(source, &at, &v[field], field);
        let op = match v["operation"].as_str() {
            Some("insert") => Op::Insert {
                start: f("start")?,
                end: f("end")?,
            },
            Some("delete") => Op::Delete {
                start: f("start")?,
                end: f("end")?,
            },
            Some("replace") => Op::Replace {
                tags_start: f("tags_start")?,
                tags_end: f("tags_end")?,
                ids_start: f("ids_start")?,
                ids_end: f("ids_end")?,
            },
            Some("search") => Op::Search,
            Some(other) => {
                return Err(bad(
                    source,
                    format!("{at}: unknown operation `{other}` (insert, delete, replace, search)"),
                ))
            }
            None => return Err(bad(source, format!("{at}: no `operation`"))),
        };
        Ok(Step { key, op })
    }

    fn order(source: &str, v: &Yaml) -> Result<Order> {
        match v["kind"].as_str() {
            Some("file") => Ok(Order::File),
            Some("clustered") => Ok(Order::Clustered {
                clusters: count(source, "order", &v["clusters"], "clusters")?,
                seed: count(source, "order", &v["seed"], "seed")? as u64,
            }),
            _ => Err(bad(
                source,
                "`order` is `{kind: file}` or `{kind: clustered, clusters: C, seed: S}`".into(),
            )),
        }
    }

    /// Checks every step against a base of `n` rows, as the steps would
    /// run: ranges inside the base, live counts within `max_pts`, deletes
    /// and replaces of live tags only, no live tag inserted twice, no row
    /// held by two live tags. The first refusal names its step.
    pub fn check(&self, n: usize, source: &str) -> Result<()> {
        if let Order::Clustered { clusters, .. } = self.order {
            if clusters == 0 || clusters > n.max(1) {
                return Err(bad(
                    source,
                    format!("order: {clusters} clusters for {n} rows"),
                ));
            }
        }
        // Position of the row each live tag holds (its keys are the live
        // tags), and which tag holds a row.
        let mut row_of: std::collections::HashMap<usize, usize> = Default::default();
        let mut held: std::collections::HashMap<usize, usize> = Default::default();
        for s in &self.steps {
            let at =
                |what: String| bad(source, format!("step {} ({}): {what}", s.key, s.op.name()));
            let range = |start: usize, end: usize, what: &str| -> Result<()> {
                if end <= start {
                    return Err(at(format!(
                        "{what} {start}..{end}: the end is not after the start"
                    )));
                }
                if end > n {
                    return Err(at(format!(
                        "{what} {start}..{end} run past the base ({n} rows)"
                    )));
                }
                Ok(())
            };
            match s.op {
                Op::Insert { start, end } => {
                    range(start, end, "rows")?;
                    for t in start..end {
                        if row_of.contains_key(&t) {
                            return Err(at(format!("inserts tag {t}, which is live already")));
                        }
                        if let Some(&other) = held.get(&t) {
                            return Err(at(format!(
                                "inserts row {t}, whose vector tag {other} holds (one row, one live tag)"
                            )));
                        }
                        row_of.insert(t, t);
                        held.insert(t, t);
                    }
                }
                Op::Delete { start, end } => {
                    range(start, end, "rows")?;
                    for t in start..end {
                        let Some(r) = row_of.remove(&t) else {
                            return Err(at(format!("deletes tag {t}, which is not live")));
                        };
                        held.remove(&r);
                    }
                }
                Op::Replace {
                    tags_start,
                    tags_end,
                    ids_start,
                    ids_end,
                } => {
                    range(tags_start, tags_end, "tag rows")?;
                    range(ids_start, ids_end, "id rows")?;
                    if tags_end - tags_start != ids_end - ids_start {
                        return Err(at(format!(
                            "{} tags take {} rows: the ranges must be as long",
                            tags_end - tags_start,
                            ids_end - ids_start
                        )));
                    }
                    for (t, r) in (tags_start..tags_end).zip(ids_start..ids_end) {
                        if !row_of.contains_key(&t) {
                            return Err(at(format!("replaces tag {t}, which is not live")));
                        }
                        if let Some(old) = row_of.insert(t, r) {
                            held.remove(&old);
                        }
                        if let Some(other) = held.insert(r, t) {
                            if other != t {
                                return Err(at(format!(
                                    "gives tag {t} row {r}, whose vector tag {other} holds (one row, one live tag)"
                                )));
                            }
                        }
                    }
                }
                Op::Search => {}
            }
            if row_of.len() > self.max_pts {
                return Err(at(format!(
                    "leaves {} tags live, past max_pts {}",
                    row_of.len(),
                    self.max_pts
                )));
            }
        }
        Ok(())
    }

    /// The runbook as YAML in big-ann's layout (plus `order` when it is
    /// not the file's), to save and run again.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}:", yaml_key(&self.name));
        let _ = writeln!(out, "  max_pts: {}", self.max_pts);
        if let Order::Clustered { clusters, seed } = self.order {
            let _ = writeln!(
                out,
                "  order: {{kind: clustered, clusters: {clusters}, seed: {seed}}}"
            );
        }
        for s in &self.steps {
            let _ = writeln!(out, "  {}:", s.key);
            let _ = writeln!(out, "    operation: {}", s.op.name());
            match s.op {
                Op::Insert { start, end } | Op::Delete { start, end } => {
                    let _ = writeln!(out, "    start: {start}\n    end: {end}");
                }
                Op::Replace {
                    tags_start,
                    tags_end,
                    ids_start,
                    ids_end,
                } => {
                    let _ = writeln!(
                        out,
                        "    tags_start: {tags_start}\n    tags_end: {tags_end}\n    ids_start: {ids_start}\n    ids_end: {ids_end}"
                    );
                }
                Op::Search => {}
            }
        }
        out
    }

    /// Search steps.
    pub fn searches(&self) -> usize {
        self.steps.iter().filter(|s| s.op == Op::Search).count()
    }
}

/// A dataset name as a YAML key: quoted unless plain letters, digits and
/// `-_.`.
fn yaml_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !name.chars().all(|c| c.is_ascii_digit())
    {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written as big-ann-benchmarks writes them (quoted operations, a
    /// `gt_url`, two datasets), every operation included.
    const BIG_ANN: &str = r#"
random-xs:
  max_pts: 1000
  1:
    operation: "insert"
    start: 0
    end: 600
  2:
    operation: "search"
  3:
    operation: "delete"
    start: 100
    end: 300
  4:
    operation: "replace"
    tags_start: 300
    tags_end: 400
    ids_start: 700
    ids_end: 800
  5:
    operation: "insert"
    start: 100
    end: 200
  6:
    operation: "search"
  gt_url: "https://example.invalid/gt"
other-set:
  max_pts: 10
  1:
    operation: "search"
"#;

    #[test]
    fn a_big_ann_runbook_reads_with_every_operation_and_prints_back_the_same() {
        let book = Runbook::parse(BIG_ANN, Some("random-xs"), "rb.yaml").expect("parse");
        assert_eq!(book.max_pts, 1000);
        assert_eq!(book.order, Order::File);
        let ops: Vec<&str> = book.steps.iter().map(|s| s.op.name()).collect();
        assert_eq!(
            ops,
            ["insert", "search", "delete", "replace", "insert", "search"]
        );
        assert_eq!(
            book.steps[3].op,
            Op::Replace {
                tags_start: 300,
                tags_end: 400,
                ids_start: 700,
                ids_end: 800
            }
        );
        book.check(1000, "rb.yaml").expect("valid");
        let again = Runbook::parse(&book.to_yaml(), None, "printed").expect("reparse");
        assert_eq!(again, book);
    }

    #[test]
    fn steps_run_in_the_order_of_their_numbers() {
        let text = "d:\n  max_pts: 5\n  10:\n    operation: search\n  2:\n    operation: insert\n    start: 0\n    end: 5\n";
        let book = Runbook::parse(text, None, "x").expect("parse");
        assert_eq!(
            book.steps.iter().map(|s| s.key).collect::<Vec<_>>(),
            [2, 10]
        );
    }

    #[test]
    fn a_clustered_order_survives_printing() {
        let book = Runbook {
            name: "pypi minilm".into(),
            max_pts: 4,
            order: Order::Clustered {
                clusters: 2,
                seed: 9,
            },
            steps: vec![Step {
                key: 1,
                op: Op::Insert { start: 0, end: 4 },
            }],
        };
        assert_eq!(
            Runbook::parse(&book.to_yaml(), None, "p").expect("parse"),
            book
        );
    }

    fn refusal(text: &str, n: usize) -> String {
        match Runbook::parse(text, None, "bad.yaml").and_then(|b| b.check(n, "bad.yaml")) {
            Ok(()) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    fn one(step: &str) -> String {
        format!("d:\n  max_pts: 100\n  1:\n    operation: insert\n    start: 0\n    end: 10\n  2:\n{step}")
    }

    #[test]
    fn every_bad_runbook_is_refused_naming_its_step() {
        let cases = [
            (one("    operation: upsert\n"), "step 2: unknown operation `upsert`"),
            (one("    operation: insert\n    start: 50\n    end: 200\n"), "step 2 (insert): rows 50..200 run past the base (100 rows)"),
            (one("    operation: delete\n    start: 5\n    end: 2\n"), "step 2 (delete): rows 5..2: the end is not after the start"),
            (one("    operation: delete\n    start: 5\n    end: 20\n"), "step 2 (delete): deletes tag 10, which is not live"),
            (one("    operation: replace\n    tags_start: 20\n    tags_end: 25\n    ids_start: 50\n    ids_end: 55\n"), "step 2 (replace): replaces tag 20, which is not live"),
            (one("    operation: insert\n    start: 5\n    end: 15\n"), "step 2 (insert): inserts tag 5, which is live already"),
            (one("    operation: insert\n    start: 10\n    end: 100\n").replace("max_pts: 100", "max_pts: 50"), "step 2 (insert): leaves 100 tags live, past max_pts 50"),
            (one("    operation: replace\n    tags_start: 0\n    tags_end: 5\n    ids_start: 50\n    ids_end: 52\n"), "step 2 (replace): 5 tags take 2 rows"),
            (one("    operation: replace\n    tags_start: 0\n    tags_end: 2\n    ids_start: 5\n    ids_end: 7\n"), "step 2 (replace): gives tag 0 row 5, whose vector tag 5 holds"),
            (one("    operation: insert\n    start: 20\n"), "step 2: `end` is missing"),
        ];
        for (text, want) in cases {
            let got = refusal(&text, 100);
            assert!(got.contains(want), "expected «{want}» in «{got}»");
            assert!(got.contains("bad.yaml"), "the file is named: {got}");
        }
    }

    #[test]
    fn the_file_itself_is_refused_when_it_is_not_one_runbook() {
        for (text, want) in [
            ("", "empty"),
            ("- 1\n- 2\n", "not a runbook"),
            ("d:\n  1:\n    operation: search\n", "has no `max_pts`"),
            ("d:\n  max_pts: 3\n", "no numbered steps"),
            (
                "d:\n  max_pts: 3\n  speed: 2\n  1:\n    operation: search\n",
                "unknown key `speed`",
            ),
            (
                "a: {max_pts: 1}\nb: {max_pts: 1}\n",
                "choose one with --runbook-key",
            ),
            ("d: [unclosed\n", "not YAML"),
        ] {
            let got = refusal(text, 10);
            assert!(got.contains(want), "expected «{want}» in «{got}»");
        }
        let e = Runbook::parse(BIG_ANN, Some("nope"), "rb.yaml").expect_err("no such key");
        assert!(
            e.to_string()
                .contains("no dataset key `nope` (it has: random-xs, other-set)"),
            "{e}"
        );
    }
}
