//! The `vidgate` binary: parse the command line, load the config, start tracing, build the
//! gateway, run it; or run one client command against a gateway.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(cli::run(args));
    // A prompt left waiting on stdin (Ctrl-C, then Ctrl-C again) must not hold the exit.
    runtime.shutdown_background();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vidgate: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
