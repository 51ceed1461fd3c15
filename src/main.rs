fn main() -> std::process::ExitCode {
    casa::cli::main()
}
