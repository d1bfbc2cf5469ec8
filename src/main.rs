//! The `emslab` binary: a thin command line (and, with the `gui` feature, the desktop app)
//! over the library.

mod cli;
mod cli_gauge;
#[cfg(feature = "gui")]
mod gui;

fn main() -> std::process::ExitCode {
    cli::main()
}
