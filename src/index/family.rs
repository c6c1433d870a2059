//! The registry of annscope's own index kinds: each kind is one [`Family`]
//! (in its module's `family.rs`), and [`family`] is the one place that
//! lists them.
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
//! [`IndexKind`] and [`IndexSpec`] (`spec.rs`), an arm in [`family`] and,
//! when it has flags of its own, a group in [`KindFlags`].

use std::sync::Arc;

use clap::Args;

use super::hfresh::flags::HFreshArgs;
use super::hnsw::HnswArgs;
use super::param_spec::{self as spec, ParamSpec};
use super::{AnnIndex, IndexKind, IndexSpec, ParamMap, Storage};
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
            "--build-fraction: {} is built at once (kinds that take inserts: {})",
            self.kind().name(),
            kinds_where(|f| f.takes_inserts())
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

/// The family of a kind annscope builds itself; None for an engine's.
pub fn family(kind: IndexKind) -> Option<&'static dyn Family> {
    Some(match kind {
        IndexKind::Flat => &super::flat::family::FLAT,
        IndexKind::Hnsw => &super::hnsw::family::HNSW,
        IndexKind::Dynamic => &super::dynamic::family::DYNAMIC,
        IndexKind::Hfresh => &super::hfresh::family::HFRESH,
        IndexKind::PgvectorHnsw | IndexKind::PgvectorIvfflat | IndexKind::QdrantHnsw => {
            return None
        }
    })
}

/// The family of a kind annscope builds, or an error naming the engine
/// that measures it instead.
pub fn local_family(kind: IndexKind) -> Result<&'static dyn Family> {
    family(kind).ok_or_else(|| {
        let engine = if kind.needs_server() {
            "pgvector"
        } else {
            "qdrant-edge"
        };
        Error::InvalidParameter(format!(
            "{} is built by an engine: measure it with --engine {engine}",
            kind.name()
        ))
    })
}

/// The names of the local kinds whose family passes `test`, e.g.
/// "hnsw, dynamic, hfresh" (for messages that say which kinds take a flag).
pub fn kinds_where(test: impl Fn(&dyn Family) -> bool) -> String {
    IndexKind::ALL
        .iter()
        .filter(|&&k| family(k).is_some_and(&test))
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A spec with its search setting as `bench` flags: the kind's own build
/// settings, the storage ladder's, and the knob. `bench` given these flags
/// builds `spec` again and measures at `knob` (the tuner's pick).
pub fn bench_flags(spec: &IndexSpec, knob: super::SearchKnob) -> ParamMap {
    use super::SearchKnob;
    let mut p = ParamMap::new();
    if let Some(f) = family(spec.kind()) {
        f.flags_of(spec, &mut p);
    }
    storage_flags(&spec.storage(), &mut p);
    match knob {
        SearchKnob::Ef(e) => {
            p.insert("ef".into(), e.into());
        }
        SearchKnob::Probe(s) => {
            p.insert("search_probe".into(), s.into());
        }
        SearchKnob::DynamicEf(_) => {
            p.insert("ef".into(), (-1).into());
        }
        SearchKnob::Default => {}
    }
    p
}

/// The storage ladder's flags that differ from their defaults (a walk over
/// codes also names its re-scoring, at Qdrant's defaults).
fn storage_flags(storage: &Storage, p: &mut ParamMap) {
    if !storage.quantizer.is_none() {
        p.insert("quantizer".into(), storage.quantizer.to_string().into());
        super::Rescoring::DEFAULT.report_into(p);
    }
    if storage.vectors != super::VectorPlace::Ram {
        p.insert("vectors".into(), storage.vectors.name().into());
    }
    if storage.vector_cache > 0 {
        p.insert("vector_cache".into(), storage.vector_cache.into());
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
