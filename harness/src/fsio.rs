//! All result-file writes go through here: atomic replacement (temp file in the same
//! directory, fsync, rename) and errors that carry the path. Owns no formats: callers pass
//! bytes (exporters return bytes; writing them is this module's job).

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file-system failure, with the path it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{op} '{path}': {source}")]
pub struct FsError {
    pub op: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl FsError {
    pub fn new(op: &'static str, path: &Path, source: std::io::Error) -> Self {
        FsError {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Writes `bytes` to `path` atomically: readers see the old file or the new one, never a
/// torn write, and a crash leaves at most a stray temp file (named `.NAME.tmpXXXX`).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| FsError::new("could not create directory", dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp"))
        .tempfile_in(dir)
        .map_err(|e| FsError::new("could not create temp file in", dir, e))?;
    // tempfile creates 0600 files; results are for reading by others too (docs, CI artifacts).
    use std::os::unix::fs::PermissionsExt;
    tmp.write_all(bytes)
        .and_then(|_| {
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
        })
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| FsError::new("could not write", tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| FsError::new("could not rename into", path, e.error))?;
    // The rename is durable only once the directory is synced.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| FsError::new("could not sync directory", dir, e))?;
    Ok(())
}

/// Reads a whole file's bytes, naming the path on failure.
pub fn read(path: &Path) -> Result<Vec<u8>, FsError> {
    std::fs::read(path).map_err(|e| FsError::new("could not read", path, e))
}

/// Reads a whole file to a string, naming the path on failure.
pub fn read_to_string(path: &Path) -> Result<String, FsError> {
    std::fs::read_to_string(path).map_err(|e| FsError::new("could not read", path, e))
}

/// Creates a directory and its parents, naming the path on failure.
pub fn create_dir_all(path: &Path) -> Result<(), FsError> {
    std::fs::create_dir_all(path).map_err(|e| FsError::new("could not create directory", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/x.csv");
        write_atomic(&p, b"first version, long").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "results must be readable by others");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "stray files: {names:?}");
    }

    #[test]
    fn errors_name_the_path() {
        let e = read_to_string(Path::new("/nonexistent/leakbench/file.toml")).unwrap_err();
        assert!(
            e.to_string().contains("/nonexistent/leakbench/file.toml"),
            "{e}"
        );
    }
}
