//! Building fixtures: the Go toolchain in use, `go build` of `go-fixtures/cmd/<name>` or of a
//! user's own program (a scenario's `program`: a Go package directory, built in its own module,
//! or a prebuilt binary, used as is), and a cache keyed by a hash of the sources and build
//! settings.
//!
//! Owns the toolchain probe and the binary cache (`.cache/fixtures/`). Must not start
//! fixtures (that is [`crate::record::launch`]).

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a fixture could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("could not run `{go} {args}`: {source} (fix: install Go >= 1.26 or pass --go PATH)")]
    Spawn {
        go: String,
        args: String,
        source: std::io::Error,
    },
    #[error("`go env GOVERSION` printed `{0}`, which is not a Go version this harness understands (fix: use Go >= 1.26)")]
    Version(String),
    #[error("{0} is older than Go 1.26, which leakbench needs (fix: install Go >= 1.26 or pass --go PATH)")]
    TooOld(String),
    #[error(
        "{0}: not a Go package directory nor an executable file (fix: point `program` at one)"
    )]
    NotAProgram(String),
    #[error("go build of fixture `{fixture}` failed:\n{stderr}")]
    Compile { fixture: String, stderr: String },
    #[error(transparent)]
    Fs(#[from] crate::fsio::FsError),
}

/// The Go toolchain the fixtures are built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoToolchain {
    pub go: PathBuf,
    /// `go1.26.8`.
    pub version: String,
    pub major: u32,
    pub minor: u32,
}

impl GoToolchain {
    /// Asks `go` for its version.
    pub fn detect(go: &Path) -> Result<Self, BuildError> {
        let out = Command::new(go)
            .args(["env", "GOVERSION"])
            .output()
            .map_err(|source| BuildError::Spawn {
                go: go.display().to_string(),
                args: "env GOVERSION".into(),
                source,
            })?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let (major, minor) =
            parse_go_version(&version).ok_or_else(|| BuildError::Version(version.clone()))?;
        if (major, minor) < (1, 26) {
            return Err(BuildError::TooOld(version));
        }
        Ok(GoToolchain {
            go: go.to_path_buf(),
            version,
            major,
            minor,
        })
    }

    /// The `GOEXPERIMENT` fixtures are built with. Go 1.26 has the `goroutineleak` profile
    /// only behind `GOEXPERIMENT=goroutineleakprofile`; from 1.27 it is on by default.
    pub fn goexperiment(&self) -> &'static str {
        if (self.major, self.minor) == (1, 26) {
            "goroutineleakprofile"
        } else {
            ""
        }
    }

    /// Whether built fixtures serve `/debug/pprof/goroutineleak`.
    pub fn has_goroutineleak(&self) -> bool {
        (self.major, self.minor) >= (1, 26)
    }
}

/// Where a command name such as `go` resolves on `PATH` (as `execvp` would find it); a path
/// with a `/` is returned as is, and so is a name not found.
pub fn resolve_command(cmd: &Path) -> PathBuf {
    if cmd.components().count() > 1 {
        return cmd.to_path_buf();
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
        .unwrap_or_else(|| cmd.to_path_buf())
}

/// `go1.26.8` → (1, 26); `go1.27rc1` → (1, 27).
pub fn parse_go_version(v: &str) -> Option<(u32, u32)> {
    let rest = v.trim().strip_prefix("go")?;
    let mut it = rest.split('.');
    let major = it.next()?.parse().ok()?;
    let minor_str: String = it
        .next()?
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    Some((major, minor_str.parse().ok()?))
}

/// Environment variables that change what `go build` produces.
pub const BUILD_ENV: [&str; 6] = [
    "GOFLAGS",
    "CC",
    "CGO_CFLAGS",
    "CGO_LDFLAGS",
    "GOAMD64",
    "GOARCH",
];

/// A built fixture binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltFixture {
    pub name: String,
    pub path: PathBuf,
    /// Hex SHA-256 of sources and build settings (first 16 digits).
    pub hash: String,
    /// Whether this call found it in the cache.
    pub cached: bool,
}

/// Hashes what determines the binary: the toolchain version and settings, the module files,
/// the kit and the fixture's own directory. Other fixtures' sources do not count, so editing
/// one fixture rebuilds only that one.
pub fn source_hash(
    fixtures_dir: &Path,
    fixture: &str,
    tc: &GoToolchain,
) -> Result<String, BuildError> {
    let mut files = Vec::new();
    for top in ["go.mod", "go.sum"] {
        let p = fixtures_dir.join(top);
        if p.exists() {
            files.push(p);
        }
    }
    collect_files(&fixtures_dir.join("kit"), &mut files)?;
    collect_files(&fixtures_dir.join("cmd").join(fixture), &mut files)?;
    hash_files(tc, fixtures_dir, files)
}

/// Hashes the toolchain version and settings, then each file's path under `root` and bytes.
fn hash_files(
    tc: &GoToolchain,
    root: &Path,
    mut files: Vec<PathBuf>,
) -> Result<String, BuildError> {
    let mut h = Sha256::new();
    h.update(tc.version.as_bytes());
    h.update([0]);
    h.update(tc.goexperiment().as_bytes());
    h.update([0]);
    // The build inherits these from the environment; a `GOFLAGS=-race` binary must not be
    // cached as a plain one.
    for var in BUILD_ENV {
        h.update(var.as_bytes());
        h.update(std::env::var(var).unwrap_or_default().as_bytes());
        h.update([0]);
    }
    files.sort();
    for f in files {
        let rel = f.strip_prefix(root).unwrap_or(&f);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        let bytes =
            std::fs::read(&f).map_err(|e| crate::fsio::FsError::new("could not read", &f, e))?;
        h.update(&bytes);
        h.update([0]);
    }
    let digest = h.finalize();
    Ok(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), BuildError> {
    if !dir.exists() {
        return Ok(());
    }
    let rd = std::fs::read_dir(dir)
        .map_err(|e| crate::fsio::FsError::new("could not read directory", dir, e))?;
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// Builds `go-fixtures/cmd/<fixture>` into `cache_dir`, unless a binary for the same source
/// hash is already there. Compiler output is returned in full on failure.
pub fn build(
    fixtures_dir: &Path,
    fixture: &str,
    tc: &GoToolchain,
    cache_dir: &Path,
) -> Result<BuiltFixture, BuildError> {
    let hash = source_hash(fixtures_dir, fixture, tc)?;
    let path = cache_dir.join(format!("{fixture}-{hash}"));
    if path.exists() {
        return Ok(BuiltFixture {
            name: fixture.to_string(),
            path,
            hash,
            cached: true,
        });
    }
    go_build(
        tc,
        fixtures_dir,
        &format!("./cmd/{fixture}"),
        fixture,
        &path,
    )?;
    Ok(BuiltFixture {
        name: fixture.to_string(),
        path,
        hash,
        cached: false,
    })
}

/// Runs `go build -o out pkg` in `dir`. Builds to a temp name and renames, so a killed build
/// never leaves a half binary that the cache would then trust. Compiler output is returned in
/// full on failure.
fn go_build(
    tc: &GoToolchain,
    dir: &Path,
    pkg: &str,
    name: &str,
    out_path: &Path,
) -> Result<(), BuildError> {
    let cache_dir = out_path.parent().unwrap_or(Path::new("."));
    crate::fsio::create_dir_all(cache_dir)?;
    let file = out_path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = cache_dir.join(format!(".{file}.{}.tmp", std::process::id()));
    let out = Command::new(&tc.go)
        .current_dir(dir)
        .arg("build")
        .arg("-o")
        .arg(&tmp)
        .arg(pkg)
        .env("GOEXPERIMENT", tc.goexperiment())
        .env("CGO_ENABLED", "1")
        .output()
        .map_err(|source| BuildError::Spawn {
            go: tc.go.display().to_string(),
            args: format!("build {pkg}"),
            source,
        })?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        let mut stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        stderr.push_str(&String::from_utf8_lossy(&out.stdout));
        return Err(BuildError::Compile {
            fixture: name.to_string(),
            stderr: stderr.trim_end().to_string(),
        });
    }
    std::fs::rename(&tmp, out_path)
        .map_err(|e| crate::fsio::FsError::new("could not rename into", out_path, e))?;
    Ok(())
}

/// A user's own program (a scenario's `program`, an absolute path): a directory is a Go
/// package, built in its own module (its `go.mod`, or the enclosing one) into `cache_dir`,
/// keyed by the toolchain, the build settings and every file under the directory; a file is a
/// prebuilt binary, used where it is, keyed by its bytes.
pub fn build_program(
    program: &Path,
    tc: &GoToolchain,
    cache_dir: &Path,
) -> Result<BuiltFixture, BuildError> {
    let name = program.display().to_string();
    if program.is_file() {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(program)
            .map_err(|e| crate::fsio::FsError::new("could not read", program, e))?;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(BuildError::NotAProgram(name));
        }
        let bytes = std::fs::read(program)
            .map_err(|e| crate::fsio::FsError::new("could not read", program, e))?;
        let digest = Sha256::digest(&bytes);
        return Ok(BuiltFixture {
            name,
            path: program.to_path_buf(),
            hash: digest.iter().take(8).map(|b| format!("{b:02x}")).collect(),
            cached: true,
        });
    }
    if !program.is_dir() {
        return Err(BuildError::NotAProgram(name));
    }
    let mut files = Vec::new();
    collect_files(program, &mut files)?;
    let hash = hash_files(tc, program, files)?;
    let base = program
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "program".into());
    let path = cache_dir.join(format!("program-{base}-{hash}"));
    if path.exists() {
        return Ok(BuiltFixture {
            name,
            path,
            hash,
            cached: true,
        });
    }
    go_build(tc, program, ".", &name, &path)?;
    Ok(BuiltFixture {
        name,
        path,
        hash,
        cached: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_resolve_on_path() {
        let sh = resolve_command(Path::new("sh"));
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        assert_eq!(resolve_command(Path::new("./x/go")), Path::new("./x/go"));
        assert_eq!(
            resolve_command(Path::new("no-such-cmd-lb")),
            Path::new("no-such-cmd-lb")
        );
    }

    #[test]
    fn go_versions_parse() {
        assert_eq!(parse_go_version("go1.26.8"), Some((1, 26)));
        assert_eq!(parse_go_version("go1.27rc1"), Some((1, 27)));
        assert_eq!(parse_go_version("go1.27"), Some((1, 27)));
        assert_eq!(parse_go_version("devel"), None);
    }

    fn tc(minor: u32) -> GoToolchain {
        GoToolchain {
            go: "go".into(),
            version: format!("go1.{minor}.0"),
            major: 1,
            minor,
        }
    }

    #[test]
    fn experiment_only_on_126() {
        assert_eq!(tc(26).goexperiment(), "goroutineleakprofile");
        assert_eq!(tc(27).goexperiment(), "");
    }

    #[test]
    fn hash_depends_on_own_sources_only() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        for (p, body) in [
            ("go.mod", "module x\n"),
            ("kit/kit.go", "package kit\n"),
            ("cmd/a/main.go", "package main\n"),
            ("cmd/b/main.go", "package main\n"),
        ] {
            std::fs::create_dir_all(root.join(p).parent().unwrap()).unwrap();
            std::fs::write(root.join(p), body).unwrap();
        }
        let a1 = source_hash(root, "a", &tc(26)).unwrap();
        std::fs::write(root.join("cmd/b/main.go"), "package main // changed\n").unwrap();
        assert_eq!(
            a1,
            source_hash(root, "a", &tc(26)).unwrap(),
            "b's change must not rebuild a"
        );
        std::fs::write(root.join("kit/kit.go"), "package kit // changed\n").unwrap();
        assert_ne!(
            a1,
            source_hash(root, "a", &tc(26)).unwrap(),
            "kit change must rebuild a"
        );
        assert_ne!(
            source_hash(root, "a", &tc(26)).unwrap(),
            source_hash(root, "a", &tc(27)).unwrap()
        );
    }
}
