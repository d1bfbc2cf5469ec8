//! The `emslab` binary: a thin command line (and, with the `gui` feature, the desktop app)
//! over the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
