//! The WebGPU module compiles the library at `../src`, outside this package, so cargo records its
//! files by absolute path: another checkout building into the same target directory (CI's clone
//! and a developer's tree share `~/.cache/tinytune/target`) would find the module fresh against
//! the other tree's files and ship it stale. Watching `../src` from here, relative to this
//! package, rebuilds it whenever this tree's library changes.

fn main() {
    println!("cargo:rerun-if-changed=../src");
}
