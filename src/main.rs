// glibc's malloc took ~14 % of the exchange path's CPU (perf, 2026-12-03);
// mimalloc's thread-local free lists suit the many small, short-lived
// allocations of a request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    casa::cli::main()
}
