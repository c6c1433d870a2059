//! The maintenance policies a runbook runs under: Weaviate's tombstone
//! cleanup on an interval (rows written or seconds), or Deep Lake's way, a
//! rebuild from scratch.

use crate::error::{Error, Result};

/// When tombstone cleanup runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Interval {
    /// After every N rows written (reproducible).
    Ops(usize),
    /// Every this many seconds (checked after each write step; the app's
    /// Motion lab also on its clock while nothing is written).
    Seconds(f64),
}

impl std::str::FromStr for Interval {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidParameter(format!(
                "--cleanup-interval {s}: give seconds (30s) or rows written (5000ops)"
            ))
        };
        if let Some(n) = s.strip_suffix("ops") {
            let n: usize = n.parse().map_err(|_| bad())?;
            return if n == 0 {
                Err(bad())
            } else {
                Ok(Interval::Ops(n))
            };
        }
        let secs: f64 = s
            .strip_suffix('s')
            .unwrap_or(s)
            .parse()
            .map_err(|_| bad())?;
        if secs.is_finite() && secs >= 0.0 {
            Ok(Interval::Seconds(secs))
        } else {
            Err(bad())
        }
    }
}

/// What keeps an index healthy under deletes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Maintenance {
    /// Nothing: tombstones stay.
    None,
    /// Weaviate's tombstone cleanup on an interval.
    Cleanup(Interval),
    /// A fresh build over the live rows after every N rows written.
    RebuildEvery(usize),
    /// A fresh build once this share of the rows built on was deleted or
    /// replaced.
    RebuildAt(f64),
}

impl Maintenance {
    /// Parses `--maintenance`, with `--cleanup-interval` for `cleanup`.
    pub fn parse(s: &str, interval: Interval) -> Result<Self> {
        let bad = |why: &str| {
            Error::InvalidParameter(format!(
                "--maintenance {s}: {why} (none, cleanup, rebuild-every:N, rebuild-at:SHARE)"
            ))
        };
        match s.split_once(':') {
            None if s == "none" => Ok(Maintenance::None),
            None if s == "cleanup" => Ok(Maintenance::Cleanup(interval)),
            Some(("rebuild-every", n)) => match n.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Maintenance::RebuildEvery(n)),
                _ => Err(bad("N is a count of rows written, at least 1")),
            },
            Some(("rebuild-at", f)) => match f.parse::<f64>() {
                Ok(f) if f > 0.0 && f <= 1.0 => Ok(Maintenance::RebuildAt(f)),
                _ => Err(bad("SHARE is above 0 and at most 1")),
            },
            _ => Err(bad("unknown policy")),
        }
    }
}
