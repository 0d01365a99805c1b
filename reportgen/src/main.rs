//! `reportgen`: see the library crate for everything but argument parsing and the exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = reportgen::cli::Cli::parse();
    // Interrupted (Ctrl-C, SIGTERM from a CI runner): no half-written file stays behind and the
    // previous snapshot and archive are left as they were.
    let _ = ctrlc::set_handler(|| {
        let _held = reportgen::archive::abandon_temporary_files();
        eprintln!("reportgen: interrupted; the archive is left as it was");
        std::process::exit(130);
    });
    match reportgen::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("reportgen: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
