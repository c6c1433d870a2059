//! The `annscope` binary: the desktop app with no arguments (when built with
//! the `gui` feature), the headless CLI otherwise.

use std::process::ExitCode;

#[cfg(not(feature = "gui"))]
use clap::CommandFactory;
use clap::Parser;

use annscope::cli::{self, Cli};

#[cfg(feature = "gui")]
use annscope::app::{LaunchOptions, LoadRequest};
/// Without the app there is nothing to launch.
#[cfg(not(feature = "gui"))]
#[derive(Default)]
struct LaunchOptions {}
#[cfg(not(feature = "gui"))]
type LoadRequest = ();

fn main() -> ExitCode {
    let parsed = Cli::parse();
    let Some(command) = parsed.command else {
        return open_app(None, LaunchOptions::default());
    };
    #[cfg(feature = "gui")]
    if let cli::Command::Gui(args) = command {
        let choice = args.index.map(|i| match i {
            cli::IndexArg::Flat => annscope::app::IndexChoice::Flat,
            cli::IndexArg::Hnsw => annscope::app::IndexChoice::Hnsw,
            cli::IndexArg::Dynamic => annscope::app::IndexChoice::Dynamic,
            cli::IndexArg::Hfresh => annscope::app::IndexChoice::HFresh,
        });
        let view = args.view.map(|v| match v {
            cli::ViewArg::Charts => annscope::app::Tab::Charts,
            cli::ViewArg::Projection => annscope::app::Tab::Projection,
            cli::ViewArg::Layers => annscope::app::Tab::Layers,
            cli::ViewArg::SearchPath => annscope::app::Tab::SearchPath,
        });
        let options = LaunchOptions {
            auto_build: args.build,
            index: choice,
            threshold: args.threshold,
            view,
            select: args.select,
            layer: args.layer,
            query: args.query,
            step: args.step,
            ef: args.ef,
            colour_by: args.colour_by.map(|c| match c {
                cli::ColourArg::Nothing => annscope::app::ColourBy::Nothing,
                cli::ColourArg::TopLayer => annscope::app::ColourBy::TopLayer,
                cli::ColourArg::QueryRecall => annscope::app::ColourBy::QueryRecall,
                cli::ColourArg::PostingList => annscope::app::ColourBy::PostingList,
            }),
        };
        return open_app(args.base.is_some().then(|| args.request()), options);
    }
    match cli::run(command) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`annscope search ... | head`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the desktop app, or prints the help when built without it.
#[cfg(feature = "gui")]
fn open_app(request: Option<LoadRequest>, options: annscope::app::LaunchOptions) -> ExitCode {
    match annscope::app::run(request, options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "gui"))]
fn open_app(_: Option<LoadRequest>, _: LaunchOptions) -> ExitCode {
    let _ = Cli::command().print_help();
    ExitCode::SUCCESS
}
