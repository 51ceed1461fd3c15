//! Rebuilds casa when the Explorer UI build (ui/dist, embedded by
//! `src/ui.rs`) changes, including files with new (hashed) names.
fn main() {
    if std::path::Path::new("ui/dist/index.html").exists() {
        println!("cargo:rerun-if-changed=ui/dist");
    } else {
        // Without a build, watch for one appearing.
        println!("cargo:rerun-if-changed=ui");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
