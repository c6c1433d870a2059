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
}

pub(super) fn run(a: &InfoArgs) -> anyhow::Result<()> {
    let info = dataset::file_info(&a.file)?;
    // An ann-benchmarks file names its metric.
    let metric = match info.format {
        dataset::Format::Hdf5 => dataset::hdf5::read_extras(&a.file)?.metric,
        _ => None,
    };
    let mut out = std::io::stdout().lock();
    if a.json {
        let mut v = serde_json::to_value(&info)?;
        if let (Some(m), Some(obj)) = (metric, v.as_object_mut()) {
            obj.insert("metric".into(), m.name().into());
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
    }
    Ok(())
}
