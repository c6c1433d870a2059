//! The `annscope` binary: the desktop app with no arguments (when built with
//! the `gui` feature), the headless CLI otherwise.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use annscope::cli::{self, Cli};

fn main() -> ExitCode {
    let parsed = Cli::parse();
    let Some(command) = parsed.command else {
        // The desktop app arrives with the `gui` feature's app module; until a
        // window can open, say what there is instead of doing nothing.
        let _ = Cli::command().print_help();
        return ExitCode::SUCCESS;
    };
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
