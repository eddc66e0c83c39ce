//! The cvdbot binary: parse the command line, set up logging, hand over to `cli::run`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cvdbot::cli::Cli::parse();
    cvdbot::logging::init(cli.log_json);
    match cvdbot::cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("cvdbot: {error:#}");
            ExitCode::FAILURE
        }
    }
}
