//! Runbooks made for a base, seeded, in the shapes the field runs:
//!
//! - `clustered-deletes[:clusters=C,chunks=I,delete=F]`: big-ann's
//!   clustered `delete_runbook` shape. Every row is inserted, cluster by
//!   cluster (each in I chunks), and after every second cluster a burst
//!   deletes the first F of an earlier cluster (every other one): about
//!   F/2 of the base goes. A search follows every write.
//! - `sliding-window[:window=W,steps=S]`: rows arrive in S chunks of the
//!   file's order; once W of the base is live, each new chunk expires the
//!   oldest (insert new, delete old), as a time-to-live collection does.
//! - `random-replace[:live=L,steps=S,size=Z]`: the first L of the base is
//!   inserted in five chunks, then S replaces each give a seeded random
//!   range of Z of the base's tags the vectors of rows never inserted.
//!
//! Options are `key=value` pairs after a colon, comma-separated.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::order;
use super::runbook::{Op, Order, Runbook, Step};
use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// The generators' names, for help and messages.
pub const GENERATORS: &[&str] = &["clustered-deletes", "sliding-window", "random-replace"];

struct Options<'a> {
    name: &'a str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Options<'a> {
    fn parse(spec: &'a str) -> Result<Self> {
        let (name, rest) = spec.split_once(':').unwrap_or((spec, ""));
        let mut pairs = Vec::new();
        for part in rest.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                Error::InvalidParameter(format!("--generate {spec}: `{part}` is not key=value"))
            })?;
            pairs.push((k.trim(), v.trim()));
        }
        Ok(Options { name, pairs })
    }

    fn get<T: std::str::FromStr>(
        &self,
        key: &str,
        default: T,
        ok: impl Fn(&T) -> bool,
    ) -> Result<T> {
        match self.pairs.iter().find(|(k, _)| *k == key) {
            None => Ok(default),
            Some((_, v)) => v.parse::<T>().ok().filter(|x| ok(x)).ok_or_else(|| {
                Error::InvalidParameter(format!(
                    "--generate {}: {key}={v} is out of range or not a number",
                    self.name
                ))
            }),
        }
    }

    fn only(&self, keys: &[&str]) -> Result<()> {
        match self.pairs.iter().find(|(k, _)| !keys.contains(k)) {
            Some((k, _)) => Err(Error::InvalidParameter(format!(
                "--generate {}: unknown option `{k}` (it takes {})",
                self.name,
                keys.join(", ")
            ))),
            None => Ok(()),
        }
    }
}

/// A runbook of the shape `spec` names for `base`, seeded.
pub fn generate(spec: &str, base: &Dataset, seed: u64) -> Result<Runbook> {
    let o = Options::parse(spec)?;
    let n = base.len();
    if n < 2 {
        return Err(Error::InvalidParameter(format!(
            "{}: {n} rows: a runbook needs at least 2",
            base.display_name()
        )));
    }
    let name = base.name().to_string();
    let mut steps = Steps::default();
    let order = match o.name {
        "clustered-deletes" => {
            o.only(&["clusters", "chunks", "delete"])?;
            let clusters = o.get("clusters", 16usize, |&c| c >= 2 && c <= n)?;
            let chunks = o.get("chunks", 2usize, |&c| c >= 1)?;
            let delete = o.get("delete", 0.7f64, |&f| f > 0.0 && f <= 1.0)?;
            let sizes = order::clustered(base, clusters, seed)?.sizes;
            let starts: Vec<usize> = sizes
                .iter()
                .scan(0, |at, &s| {
                    let here = *at;
                    *at += s;
                    Some(here)
                })
                .collect();
            let mut next_burst = 0;
            for c in 0..clusters {
                let (s, size) = (starts[c], sizes[c]);
                for i in 0..chunks {
                    let (a, b) = (s + size * i / chunks, s + size * (i + 1) / chunks);
                    steps.write(Op::Insert { start: a, end: b });
                }
                if c % 2 == 1 {
                    let victim = next_burst;
                    next_burst += 2;
                    let cut = (sizes[victim] as f64 * delete).round() as usize;
                    steps.write(Op::Delete {
                        start: starts[victim],
                        end: starts[victim] + cut,
                    });
                }
            }
            Order::Clustered { clusters, seed }
        }
        "sliding-window" => {
            o.only(&["window", "steps"])?;
            let window = o.get("window", 0.25f64, |&w| w > 0.0 && w <= 1.0)?;
            let chunks = o.get("steps", 40usize, |&s| s >= 2 && s <= n)?;
            let edge = |i: usize| n * i / chunks;
            let keep = ((window * chunks as f64).round() as usize).max(1);
            for i in 0..chunks {
                steps.write(Op::Insert {
                    start: edge(i),
                    end: edge(i + 1),
                });
                if i >= keep {
                    let old = i - keep;
                    steps.write(Op::Delete {
                        start: edge(old),
                        end: edge(old + 1),
                    });
                }
            }
            Order::File
        }
        "random-replace" => {
            o.only(&["live", "steps", "size"])?;
            let live_share = o.get("live", 0.5f64, |&f| f > 0.0 && f < 1.0)?;
            let replaces = o.get("steps", 10usize, |&s| s >= 1)?;
            let size_share = o.get("size", 0.02f64, |&f| f > 0.0 && f < 1.0)?;
            let live = ((n as f64 * live_share) as usize).clamp(1, n - 1);
            let size = ((n as f64 * size_share) as usize).clamp(1, live);
            if replaces * size > n - live {
                return Err(Error::InvalidParameter(format!(
                    "--generate random-replace: {replaces} replaces of {size} rows need {} rows never inserted; the base has {}",
                    replaces * size,
                    n - live
                )));
            }
            for i in 0..5 {
                steps.write(Op::Insert {
                    start: live * i / 5,
                    end: live * (i + 1) / 5,
                });
            }
            let mut rng = StdRng::seed_from_u64(seed);
            let mut fresh = live;
            for _ in 0..replaces {
                let t = rng.random_range(0..=live - size);
                steps.write(Op::Replace {
                    tags_start: t,
                    tags_end: t + size,
                    ids_start: fresh,
                    ids_end: fresh + size,
                });
                fresh += size;
            }
            Order::File
        }
        other => {
            return Err(Error::InvalidParameter(format!(
                "--generate {other}: unknown runbook shape (one of {})",
                GENERATORS.join(", ")
            )))
        }
    };
    let book = Runbook {
        name,
        max_pts: steps.peak_live(),
        order,
        steps: steps.0,
    };
    book.check(n, "the generated runbook")?;
    Ok(book)
}

/// Steps numbered from 1, a search after every write.
#[derive(Default)]
struct Steps(Vec<Step>);

impl Steps {
    /// The most tags live after any step (the runbook's `max_pts`).
    fn peak_live(&self) -> usize {
        let (mut live, mut peak) = (0usize, 0usize);
        for s in &self.0 {
            match s.op {
                Op::Insert { .. } => live += s.op.rows_written(),
                Op::Delete { .. } => live -= s.op.rows_written(),
                _ => {}
            }
            peak = peak.max(live);
        }
        peak
    }
    fn write(&mut self, op: Op) {
        if op.rows_written() == 0 {
            return;
        }
        for op in [op, Op::Search] {
            let key = self.0.len() as u64 + 1;
            self.0.push(Step { key, op });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::churn::state::LiveRows;
    use crate::distance::Metric;
    use crate::testutil::random_dataset;

    fn deleted_share(book: &Runbook, n: usize) -> f64 {
        book.steps
            .iter()
            .filter(|s| matches!(s.op, Op::Delete { .. }))
            .map(|s| s.op.rows_written())
            .sum::<usize>() as f64
            / n as f64
    }

    #[test]
    fn clustered_deletes_insert_everything_cluster_by_cluster_and_delete_in_bursts() {
        let base = random_dataset(2000, 8, Metric::L2, 3);
        let book = generate("clustered-deletes", &base, 7).expect("generate");
        assert!(book.steps.len() >= 50, "{} steps", book.steps.len());
        let inserted: usize = book
            .steps
            .iter()
            .filter(|s| matches!(s.op, Op::Insert { .. }))
            .map(|s| s.op.rows_written())
            .sum();
        assert_eq!(inserted, 2000);
        let share = deleted_share(&book, 2000);
        assert!((0.25..0.45).contains(&share), "deleted {share}");
        // A search after every write; the order is the clustered one.
        assert!(book
            .steps
            .windows(2)
            .all(|w| (w[0].op == Op::Search) != (w[1].op == Op::Search)));
        assert_eq!(
            book.order,
            Order::Clustered {
                clusters: 16,
                seed: 7
            }
        );
        assert_eq!(
            generate("clustered-deletes", &base, 7).expect("again"),
            book
        );
        // The peak live count is max_pts, and it is reached.
        let mut live = LiveRows::new(crate::churn::positions(&book, &base).expect("order"));
        let peak = book
            .steps
            .iter()
            .map(|s| {
                live.apply(&s.op);
                live.len()
            })
            .max();
        assert_eq!(peak, Some(book.max_pts));
    }

    #[test]
    fn sliding_window_keeps_the_window_and_random_replace_keeps_tags() {
        let base = random_dataset(1000, 4, Metric::L2, 1);
        let book = generate("sliding-window:window=0.2,steps=20", &base, 1).expect("window");
        assert!(book.max_pts <= 250, "max_pts {}", book.max_pts);
        assert!((deleted_share(&book, 1000) - 0.8).abs() < 0.01);
        let book = generate("random-replace:steps=5,size=0.05", &base, 2).expect("replace");
        let replaces = book
            .steps
            .iter()
            .filter(|s| matches!(s.op, Op::Replace { .. }))
            .count();
        assert_eq!(replaces, 5);
        assert_eq!(book.max_pts, 500);
    }

    #[test]
    fn a_bad_shape_or_option_is_refused_naming_it() {
        let base = random_dataset(100, 4, Metric::L2, 1);
        for (spec, want) in [
            ("zigzag", "unknown runbook shape"),
            ("sliding-window:width=3", "unknown option `width`"),
            ("clustered-deletes:delete=2", "delete=2 is out of range"),
            ("random-replace:steps", "is not key=value"),
            (
                "random-replace:steps=100,size=0.1",
                "need 1000 rows never inserted",
            ),
        ] {
            let e = generate(spec, &base, 1).expect_err(spec).to_string();
            assert!(e.contains(want), "{spec}: {e}");
        }
    }
}
