//! A fixture's log (`fixture.log`): its stdout and stderr copied in under one shared byte
//! budget, and its last lines for one-line error reasons.
//!
//! Owns writing and reading the log file. Must not start, signal or wait for processes (that
//! is [`crate::launch`]).
//!
//! Both streams go through the harness rather than straight into the file, so a fixture that
//! floods either one cannot fill the disk: once the budget is spent, one marker line says so
//! and the rest is read and dropped (the fixture never blocks on a full pipe).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

/// Bytes of a fixture's output (stdout and stderr together) kept in its log per start.
pub const MAX_LOG_BYTES: u64 = 16 << 20;

/// The line written once the budget is spent.
pub const CUT_MARKER: &str = "[leakbench: log cut here; the fixture's further output was dropped]";

/// One writer per stream; writers of one fixture start share the budget.
pub struct LogWriter {
    file: tokio::fs::File,
    budget: Arc<Budget>,
}

/// Bytes still allowed, and whether the cut has been marked.
struct Budget {
    left: AtomicU64,
    cut: AtomicBool,
}

impl LogWriter {
    /// Opens `path` for appending, with a budget shared by every writer cloned from this one
    /// through [`LogWriter::another`].
    pub fn open(path: &Path, budget: u64) -> std::io::Result<LogWriter> {
        Ok(LogWriter {
            file: open_append(path)?,
            budget: Arc::new(Budget {
                left: AtomicU64::new(budget),
                cut: AtomicBool::new(false),
            }),
        })
    }

    /// A second writer on the same file and budget (for the other stream).
    pub fn another(&self, path: &Path) -> std::io::Result<LogWriter> {
        Ok(LogWriter {
            file: open_append(path)?,
            budget: Arc::clone(&self.budget),
        })
    }

    /// Writes what the budget allows of `bytes`; the first write the budget cannot hold in
    /// full adds the cut marker. Write errors are ignored: a log is not worth failing a run for.
    pub async fn write(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let want = bytes.len() as u64;
        let before = self
            .budget
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                Some(left.saturating_sub(want))
            })
            .expect("the update always succeeds");
        let granted = before.min(want) as usize;
        if granted > 0 {
            let _ = self.file.write_all(&bytes[..granted]).await;
        }
        if granted < bytes.len() && !self.budget.cut.swap(true, Ordering::SeqCst) {
            let _ = self
                .file
                .write_all(format!("\n{CUT_MARKER}\n").as_bytes())
                .await;
        }
    }

    pub async fn flush(&mut self) {
        let _ = self.file.flush().await;
    }

    /// Copies `r` into the log until it ends, then flushes; past the budget it keeps reading
    /// and drops the bytes.
    pub fn spawn_copy<R>(mut self, mut r: R) -> JoinHandle<()>
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 << 10];
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => self.write(&buf[..n]).await,
                }
            }
            self.flush().await;
        })
    }
}

fn open_append(path: &Path) -> std::io::Result<tokio::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    Ok(tokio::fs::File::from_std(f))
}

/// Where one fixture start's output begins in its log, for reading its tail.
#[derive(Debug, Clone)]
pub struct LogSpan {
    pub path: PathBuf,
    pub start: u64,
}

impl LogSpan {
    /// From the log's current end: what is appended later belongs to this start.
    pub fn from_end(path: &Path) -> LogSpan {
        LogSpan {
            path: path.to_path_buf(),
            start: std::fs::metadata(path).map_or(0, |m| m.len()),
        }
    }

    /// The last `n` non-blank lines of this start's output, joined with ` | `.
    pub fn tail(&self, n: usize) -> String {
        log_tail_since(&self.path, self.start, n)
    }
}

/// The last `n` lines of a log, joined with ` | ` (for one-line error reasons).
pub fn log_tail(path: &Path, n: usize) -> String {
    log_tail_since(path, 0, n)
}

/// The last `n` lines of a log after byte `start`, reading at most its last 64 KiB (a log can
/// be large, and need not be UTF-8).
fn log_tail_since(path: &Path, start: u64, n: usize) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let from = start.max(len.saturating_sub(64 << 10));
    let mut bytes = Vec::new();
    if f.seek(SeekFrom::Start(from)).is_err() || f.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tail_is_this_starts_only() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fixture.log");
        std::fs::write(&p, "bind: address already in use\n").unwrap();
        let span = LogSpan::from_end(&p);
        assert_eq!(span.tail(5), "");
        std::fs::write(&p, b"bind: address already in use\nsecond\n\xff\n").unwrap();
        assert_eq!(span.tail(5), "second | \u{fffd}");
        assert!(log_tail(&p, 5).starts_with("bind: address"));
    }

    #[tokio::test]
    async fn two_streams_share_one_budget_and_the_cut_is_marked_once() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fixture.log");
        let out = LogWriter::open(&p, 1000).unwrap();
        let err = out.another(&p).unwrap();
        let a = out.spawn_copy(&[b'a'; 700][..]);
        let b = err.spawn_copy(&[b'b'; 700][..]);
        a.await.unwrap();
        b.await.unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let kept = text
            .replace(CUT_MARKER, "")
            .bytes()
            .filter(|&c| c != b'\n')
            .count();
        assert_eq!(kept, 1000, "{text}");
        assert_eq!(text.matches(CUT_MARKER).count(), 1, "{text}");
    }

    #[tokio::test]
    async fn within_the_budget_nothing_is_cut() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fixture.log");
        let mut w = LogWriter::open(&p, 10).unwrap();
        w.write(b"0123456789").await;
        w.flush().await;
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "0123456789");
        w.write(b"x").await;
        w.flush().await;
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text, format!("0123456789\n{CUT_MARKER}\n"));
    }
}
