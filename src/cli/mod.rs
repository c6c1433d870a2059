//! The headless command line, one room per subcommand.
//!
//! Flag names and JSON fields are a contract other tools read: keep them.
//! Each subcommand's arguments are parsed by clap into raw values (shared
//! groups in [`args`]), then checked and turned into a plan before any work
//! starts, with errors that name the file or flag and the problem. What the
//! CLI measures and how it writes reports live in the engine ([`crate::eval`]).

pub mod args;
mod bench;
mod build;
mod churn;
mod crossover;
mod engine;
mod groundtruth;
#[cfg(feature = "gui")]
mod gui;
mod info;
mod io;
mod project;
mod search;
mod tune;
mod tune_engine;

use clap::{Parser, Subcommand};

pub use bench::BenchArgs;
pub use build::BuildArgs;
pub use churn::ChurnArgs;
pub use crossover::CrossoverArgs;
pub use groundtruth::GroundtruthArgs;
#[cfg(feature = "gui")]
pub use gui::GuiArgs;
pub use info::InfoArgs;
pub use io::with_progress;
pub use project::ProjectArgs;
pub use search::SearchArgs;
pub use tune::{TargetNotMet, TuneArgs};

/// annscope: see and tune approximate-nearest-neighbour vector indexes.
///
/// With no subcommand it opens the desktop app (when built with the `gui`
/// feature) on the bundled sample data.
#[derive(Parser, Debug)]
#[command(name = "annscope", version, about, long_about = None, allow_negative_numbers = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show what a vector file holds: count, dimension, element type, format.
    Info(InfoArgs),
    /// Compute exact top-k neighbours of each query and write them as .ivecs.
    Groundtruth(GroundtruthArgs),
    /// Build an index, then measure recall, QPS and latency per search setting.
    Bench(Box<BenchArgs>),
    /// Build an index (hnsw, hfresh or dynamic) and save it to a file.
    Build(BuildArgs),
    /// Search a saved index: one JSON line per query.
    Search(SearchArgs),
    /// Run a runbook of inserts, deletes, replaces and searches (big-ann's
    /// streaming format, or generated) and measure recall at every search
    /// step against exact ground truth over the live rows.
    Churn(Box<ChurnArgs>),
    /// Measure where flat and HNSW latency cross: the dynamic index's threshold.
    Crossover(CrossoverArgs),
    /// Find the cheapest configuration that meets a recall target, chosen
    /// on half the queries and checked on the other half.
    Tune(Box<TuneArgs>),
    /// Lay the vectors out on a plane (PCA or UMAP from the index's own
    /// neighbour graph), write the coordinates as .npy and say how many
    /// neighbours the picture keeps.
    Project(Box<ProjectArgs>),
    /// Open the desktop app on a dataset.
    #[cfg(feature = "gui")]
    Gui(GuiArgs),
}

/// Runs a parsed command.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Info(a) => info::run(&a),
        Command::Groundtruth(a) => groundtruth::run(&a),
        // An engine is benched by its own room (which reads bench's arguments).
        Command::Bench(a) if a.engine.engine.is_some() => engine::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Build(a) => build::run(&a),
        Command::Search(a) => search::run(&a),
        Command::Churn(a) => churn::run(&a),
        Command::Crossover(a) => crossover::run(&a),
        Command::Tune(a) => tune::run(&a),
        Command::Project(a) => project::run(&a),
        #[cfg(feature = "gui")]
        Command::Gui(_) => anyhow::bail!("the gui subcommand is handled by main"),
    }
}
