//! The `annscope` binary: the desktop app with no arguments (when built with
//! the `gui` feature), the headless CLI otherwise.

use std::process::ExitCode;

#[cfg(not(feature = "gui"))]
use clap::CommandFactory;
use clap::Parser;

use annscope::cli::{self, Cli};

fn main() -> ExitCode {
    let parsed = Cli::parse();
    let Some(command) = parsed.command else {
        return open_app(None, false);
    };
    #[cfg(feature = "gui")]
    if let cli::Command::Gui(args) = command {
        return open_app(args.base.is_some().then(|| args.request()), args.build);
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
fn open_app(request: Option<annscope::app::LoadRequest>, auto_build: bool) -> ExitCode {
    match annscope::app::run(request, auto_build) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "gui"))]
fn open_app(_: Option<()>, _: bool) -> ExitCode {
    let _ = Cli::command().print_help();
    ExitCode::SUCCESS
}
