//! What one of annscope's own index kinds knows about itself: each kind is
//! one [`Family`] (in its module's `family.rs`); [`super::registry`] is the
//! one place that lists them.
//!
//! A family owns what the rest of the house would otherwise spell per
//! kind: the specs its command-line flags name and the flags a spec reads
//! back as (the tuner's pick is `bench` flags, so the two must be inverses:
//! `tests` in `cli::bench` walks every kind), which storage it takes, how
//! it builds (and whether it can be built on a share and grown by inserts),
//! and the controls the app draws for its build settings. The CLI's
//! `bench` and `build`, the tuner's search space and pick, and the app's
//! panels and apply-pick go through it.
//!
//! Adding a kind: its module with a `family.rs`, a variant in
//! [`IndexKind`] and [`IndexSpec`] (`spec.rs`), an arm in
//! [`super::registry::family`] and, when it has flags of its own, a group
//! in [`KindFlags`].

use std::sync::Arc;

use clap::Args;

use super::hfresh::flags::HFreshArgs;
use super::hnsw::flags::HnswArgs;
use super::param_spec::{self as spec, ParamSpec};
use super::{AnnIndex, IndexKind, IndexSpec, ParamMap};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::progress::WorkContext;

/// Every local kind's build flags, flattened into `bench` and `build`.
#[derive(Args, Debug, Clone)]
pub struct KindFlags {
    #[command(flatten)]
    pub hnsw: HnswArgs,
    /// Dynamic index: vectors are searched flat up to this count, then through HNSW.
    #[arg(long, default_value_t = spec::THRESHOLD.default, long_help = spec::THRESHOLD.help)]
    pub threshold: usize,
    #[command(flatten)]
    pub hfresh: HFreshArgs,
    /// Build on this share of the base, then insert the rest one by one
    /// (measures updates in place; 1 = build on everything). Refused by
    /// kinds built at once.
    #[arg(long, default_value_t = 1.0)]
    pub build_fraction: f64,
}

impl KindFlags {
    /// The share of the base built before the rest is inserted, checked.
    pub fn build_fraction(&self) -> Result<f64> {
        let f = self.build_fraction;
        if !(f > 0.0 && f <= 1.0) {
            return Err(Error::InvalidParameter(format!(
                "--build-fraction {f}: give a share above 0 and at most 1"
            )));
        }
        Ok(f)
    }
}

/// Which parts of the storage ladder a kind takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageUse {
    /// A walk or scan over quantized codes (`--quantizer`).
    pub codes: bool,
    /// The f32 vectors left in the mapped base file (`--vectors disk`).
    pub disk_vectors: bool,
}

impl StorageUse {
    /// Codes, with the f32 vectors in RAM or on disk (a graph walk).
    pub const LADDER: StorageUse = StorageUse {
        codes: true,
        disk_vectors: true,
    };
    /// Codes, with the f32 vectors in RAM to re-score (a scan).
    pub const CODES_IN_RAM: StorageUse = StorageUse {
        codes: true,
        disk_vectors: false,
    };
}

/// What the tuner may vary for a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tuning {
    /// The graph's build (M, efConstruction) by the tuner's strategy, and
    /// the knob.
    Graph,
    /// The build is pinned (the space's `pinned`); the knob, if any, is tuned.
    Knob,
    /// Not searched by the tuner.
    None,
}

/// One build setting the app draws as a control, read from and written to
/// the spec.
#[derive(Clone, Copy)]
pub enum Field {
    /// A whole number in its spec's usual range.
    Count {
        label: &'static str,
        spec: &'static ParamSpec<usize>,
        get: fn(&IndexSpec) -> usize,
        set: fn(&mut IndexSpec, usize),
        /// A slider (few values); otherwise a field to drag or type in.
        slider: bool,
    },
    /// A real number in its spec's usual range.
    Real {
        label: &'static str,
        spec: &'static ParamSpec<f32>,
        get: fn(&IndexSpec) -> f32,
        set: fn(&mut IndexSpec, f32),
    },
    /// The quantizer (and, when the kind takes it, where the vectors live).
    Storage,
    /// A half-precision copy of the vectors the search reads, on or off;
    /// nothing to halve over codes.
    HalfSearch {
        label: &'static str,
        help: &'static str,
    },
}

/// What one index kind knows about itself.
pub trait Family: Sync {
    fn kind(&self) -> IndexKind;
    /// Its build settings at their defaults.
    fn default_spec(&self) -> IndexSpec;
    /// The specs the flags name, checked: one per value of a swept flag.
    fn specs(&self, flags: &KindFlags) -> Result<Vec<IndexSpec>>;
    /// Adds `spec`'s own build settings as `bench` flags (snake_case for
    /// --kebab-case). The storage ladder's flags are shared and written by
    /// [`bench_flags`]; `specs` reads them all back to `spec`.
    fn flags_of(&self, spec: &IndexSpec, out: &mut ParamMap);
    fn storage_use(&self) -> StorageUse;
    /// What the tuner may vary.
    fn tuning(&self) -> Tuning;
    /// Builds over `dataset` (validated by the caller).
    fn build(
        &self,
        spec: &IndexSpec,
        dataset: &Arc<Dataset>,
        ctx: &WorkContext,
    ) -> Result<Arc<dyn AnnIndex>>;
    /// Whether [`Family::build_then_insert`] grows it by inserts.
    fn takes_inserts(&self) -> bool {
        false
    }
    /// Builds what `annscope build` saves: [`Family::build`], plus what
    /// the flags say the file keeps beyond the spec (HNSW: dynamic ef's
    /// bounds).
    fn build_for_file(
        &self,
        spec: &IndexSpec,
        _flags: &KindFlags,
        dataset: &Arc<Dataset>,
        ctx: &WorkContext,
    ) -> Result<Arc<dyn AnnIndex>> {
        self.build(spec, dataset, ctx)
    }
    /// Builds on the first `fraction` of `dataset`, then inserts the rest
    /// one by one; refused by kinds that take no inserts.
    fn build_then_insert(
        &self,
        _spec: &IndexSpec,
        _dataset: &Arc<Dataset>,
        _fraction: f64,
        _ctx: &WorkContext,
    ) -> Result<Arc<dyn AnnIndex>> {
        Err(Error::InvalidParameter(format!(
            "--build-fraction: {} is built at once and takes no inserts",
            self.kind().name()
        )))
    }
    /// An empty index of this spec that takes inserts, deletes and
    /// replaces of `base`'s rows (`annscope churn`); refused by kinds that
    /// take no writes.
    fn live(
        &self,
        _spec: &IndexSpec,
        _base: &Arc<Dataset>,
        _ctx: &WorkContext,
    ) -> Result<Box<dyn super::live::LiveIndex>> {
        Err(Error::InvalidParameter(format!(
            "{} indexes take no writes",
            self.kind().name()
        )))
    }
    /// Specs with a knob, away from the defaults wherever a flag could be
    /// lost: the cases of the test that a pick read back as `bench` flags
    /// is the same build (`cli::bench`).
    #[cfg(test)]
    fn examples(&self) -> Vec<(IndexSpec, super::SearchKnob)>;
    /// The controls of its build settings the app draws generically (HNSW
    /// and the dynamic index have their own panel section).
    fn fields(&self) -> &'static [Field] {
        &[]
    }
}

/// A spec handed to another kind's family: a mistake in the caller.
pub(crate) fn not_this_kind(family: &dyn Family, spec: &IndexSpec) -> Error {
    Error::InvalidParameter(format!(
        "{} is not a {} index",
        spec.label(),
        family.kind().name()
    ))
}

/// An f32 as it prints (0.05), not its f64 widening (0.0500000007…).
pub(crate) fn shown_f32(v: f32) -> serde_json::Value {
    v.to_string().parse::<f64>().unwrap_or(f64::from(v)).into()
}
