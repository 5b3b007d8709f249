//! Helpers shared by the integration tests: the repository root and the `leakbench` binary.

use std::path::PathBuf;
use std::process::Command;

/// The repository root (the workspace directory above `harness/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

/// A `leakbench` command run from the repository root.
pub fn leakbench() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leakbench"));
    c.current_dir(root());
    c
}
