//! `reportgen`: see the library crate for everything but argument parsing and the exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = reportgen::cli::Cli::parse();
    match reportgen::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("reportgen: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
