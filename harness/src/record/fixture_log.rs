//! A fixture's log (`fixture.log`): its stdout and stderr copied in under one shared byte
//! budget, and its last lines for one-line error reasons.
//!
//! Owns writing and reading the log file. Must not start, signal or wait for processes (that
//! is [`crate::record::launch`]).
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

/// Bytes of each stream's dropped output kept and written at its end, after a note: a
/// fixture's last words (a panic, a crash reason) matter most, and come last.
pub const KEPT_AFTER_CUT: usize = 16 << 10;

/// Longest line a log tail reports (the rest is cut, with `…`): tails go into one-line
/// reasons, and a fixture may write lines of any length.
pub const MAX_TAIL_LINE_CHARS: usize = 300;

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

    /// Writes what the budget allows of `bytes` and returns how many it wrote; the first
    /// write the budget cannot hold in full adds the cut marker. Write errors are ignored: a
    /// log is not worth failing a run for.
    pub async fn write(&mut self, bytes: &[u8]) -> usize {
        if bytes.is_empty() {
            return 0;
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
        granted
    }

    pub async fn flush(&mut self) {
        let _ = self.file.flush().await;
    }

    /// Copies `r` (the fixture's `stream`, named in notes) into the log until it ends. Past
    /// the budget it keeps reading and drops the bytes, all but the last [`KEPT_AFTER_CUT`],
    /// which it writes at the end after a note saying how much was dropped.
    pub fn spawn_copy<R>(mut self, mut r: R, stream: &'static str) -> JoinHandle<()>
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 << 10];
            let mut dropped = 0u64;
            let mut last = Vec::new();
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let kept = self.write(&buf[..n]).await;
                        if kept < n {
                            dropped += (n - kept) as u64;
                            keep_last(&mut last, &buf[kept..n], KEPT_AFTER_CUT);
                        }
                    }
                }
            }
            if dropped > 0 {
                let note = format!(
                    "\n[leakbench: {dropped} bytes of {stream} dropped after the cut; its last {} follow]\n",
                    last.len()
                );
                let _ = self.file.write_all(note.as_bytes()).await;
                let _ = self.file.write_all(&last).await;
            }
            self.flush().await;
        })
    }
}

/// Appends `bytes` to `last`, keeping only its final `n` bytes.
fn keep_last(last: &mut Vec<u8>, bytes: &[u8], n: usize) {
    if bytes.len() >= n {
        last.clear();
        last.extend_from_slice(&bytes[bytes.len() - n..]);
    } else {
        last.extend_from_slice(bytes);
        if last.len() > n {
            last.drain(..last.len() - n);
        }
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
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| match l.char_indices().nth(MAX_TAIL_LINE_CHARS) {
            Some((cut, _)) => format!("{}…", &l[..cut]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" | ")
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
        let a = out.spawn_copy(&[b'a'; 700][..], "stdout");
        let b = err.spawn_copy(&[b'b'; 700][..], "stderr");
        a.await.unwrap();
        b.await.unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.matches(CUT_MARKER).count(), 1, "marked once: {text}");
        // Every byte appears once: 1000 within the budget, the 400 dropped (under
        // KEPT_AFTER_CUT) after their stream's note.
        let data: String = text
            .lines()
            .filter(|l| !l.starts_with("[leakbench:"))
            .collect();
        assert_eq!(data.matches('a').count(), 700, "{text}");
        assert_eq!(data.matches('b').count(), 700, "{text}");
        let dropped: u64 = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix("[leakbench: ")?
                    .split(" bytes of ")
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum();
        assert_eq!(dropped, 400, "{text}");
    }

    #[tokio::test]
    async fn the_last_words_after_a_cut_are_kept_and_tail_lines_are_short() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fixture.log");
        let mut input = vec![b'x'; 200 << 10];
        input.extend_from_slice(b"\npanic: the last words\n");
        LogWriter::open(&p, 1000)
            .unwrap()
            .spawn_copy(std::io::Cursor::new(input.clone()), "stderr")
            .await
            .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.len() < 1000 + KEPT_AFTER_CUT + 300,
            "{} bytes",
            text.len()
        );
        assert!(text.contains(&format!(
            "[leakbench: {} bytes of stderr dropped after the cut; its last {KEPT_AFTER_CUT} follow]",
            input.len() - 1000
        )));
        let tail = log_tail(&p, 2);
        assert!(tail.ends_with(" | panic: the last words"), "{tail}");
        assert_eq!(
            tail.split(" | ").next().unwrap().chars().count(),
            MAX_TAIL_LINE_CHARS + 1,
            "the long line before it is cut, with …"
        );
    }

    #[tokio::test]
    async fn within_the_budget_nothing_is_cut() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fixture.log");
        let mut w = LogWriter::open(&p, 10).unwrap();
        assert_eq!(w.write(b"0123456789").await, 10);
        w.flush().await;
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "0123456789");
        assert_eq!(w.write(b"x").await, 0);
        w.flush().await;
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text, format!("0123456789\n{CUT_MARKER}\n"));
    }
}
