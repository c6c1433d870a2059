//! The `annscope` binary: the desktop app with no arguments (when built with
//! the `gui` feature), the headless CLI otherwise.

use std::process::ExitCode;

use clap::Parser;

use annscope::cli::{self, Cli};

fn main() -> ExitCode {
    let parsed = Cli::parse();
    let Some(command) = parsed.command else {
        return open_app(None);
    };
    #[cfg(feature = "gui")]
    if let cli::Command::Gui(args) = command {
        return report(annscope::app::run(args.request(), args.launch_options()));
    }
    match cli::run(command) {
        // A closed pipe (`annscope search ... | head`) is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        // The tuner printed its closest point as the pick: exit code 2.
        Err(e) if e.downcast_ref::<cli::TargetNotMet>().is_some() => {
            eprintln!("annscope: {e}");
            ExitCode::from(2)
        }
        result => report(result),
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the desktop app on the last (or the bundled) data.
#[cfg(feature = "gui")]
fn open_app(request: Option<annscope::app::LoadRequest>) -> ExitCode {
    report(annscope::app::run(
        request,
        annscope::app::LaunchOptions::default(),
    ))
}

/// Without the app there is nothing to open: print the help.
#[cfg(not(feature = "gui"))]
fn open_app(_: Option<()>) -> ExitCode {
    use clap::CommandFactory;
    let _ = Cli::command().print_help();
    ExitCode::SUCCESS
}
