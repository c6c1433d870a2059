//! `annscope info`: what a vector file holds.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::dataset;

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// The vector file (.fvecs, .ivecs, .bvecs, .npy, .csv, .tsv, .hdf5).
    pub file: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Read every value and refuse what `bench` would refuse (NaN, Inf,
    /// overflowing rows, integer data under a float name); without it only
    /// the headers are read.
    #[arg(long)]
    pub validate: bool,
}

pub(super) fn run(a: &InfoArgs) -> anyhow::Result<()> {
    let info = dataset::file_info(&a.file)?;
    // An ann-benchmarks file names its metric.
    let metric = match info.format {
        dataset::Format::Hdf5 => dataset::hdf5::read_metric(&a.file)?,
        _ => None,
    };
    if a.validate {
        let path = a.file.clone();
        super::io::with_progress("validate", move |ctx| {
            // Values are checked under l2: a zero vector is only a problem under cosine.
            dataset::open(&path, crate::distance::Metric::L2, ctx)?.validate(ctx)
        })?;
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        let mut v = serde_json::to_value(&info)?;
        if let Some(obj) = v.as_object_mut() {
            if let Some(m) = metric {
                obj.insert("metric".into(), m.name().into());
            }
            obj.insert("validated".into(), a.validate.into());
        }
        writeln!(out, "{v}")?;
    } else {
        writeln!(out, "file     {}", a.file.display())?;
        writeln!(out, "format   {}", info.format.name())?;
        writeln!(out, "vectors  {}", info.n)?;
        writeln!(out, "dim      {}", info.dim)?;
        writeln!(out, "dtype    {}", info.dtype.name())?;
        let mmapped = if info.mmapped {
            "yes"
        } else {
            "no (converted into RAM)"
        };
        writeln!(out, "mmapped  {mmapped}")?;
        if let Some(m) = metric {
            writeln!(out, "metric   {m}")?;
        }
        let checked = if a.validate {
            "every value"
        } else {
            "headers only (--validate reads every value, as bench does)"
        };
        writeln!(out, "checked  {checked}")?;
    }
    Ok(())
}
