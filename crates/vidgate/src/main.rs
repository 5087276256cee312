//! The `vidgate` binary: parse the command line, load the config, start tracing, build the
//! gateway, run it.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(cli::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vidgate: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
