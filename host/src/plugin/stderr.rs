//! A plugin's standard error, kept for its last few KiB: Rust guests print
//! their panic message there before they trap, and the message is what a
//! person needs to see, not the trap's backtrace. Writes never fail and
//! never grow memory past the tail (a guest whose `eprintln!` failed would
//! panic itself).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Bytes kept: a panic message with its location fits many times.
const TAIL: usize = 4096;

#[derive(Clone, Default)]
pub(crate) struct StderrTail {
    buf: Arc<Mutex<VecDeque<u8>>>,
}

impl StderrTail {
    fn push(&self, bytes: &[u8]) {
        let mut buf = self.buf.lock().unwrap();
        let bytes = &bytes[bytes.len().saturating_sub(TAIL)..];
        let over = (buf.len() + bytes.len()).saturating_sub(TAIL);
        buf.drain(..over);
        buf.extend(bytes);
    }

    /// Takes what was written since the last take.
    pub(crate) fn take(&self) -> String {
        let bytes: Vec<u8> = self.buf.lock().unwrap().drain(..).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// The message of the last Rust panic in `stderr`, on one line:
/// `panicked at src/lib.rs:12:9: boom`.
pub(crate) fn panic_message(stderr: &str) -> Option<String> {
    let at = stderr.rfind("panicked at ")?;
    let rest = &stderr[at..];
    // "panicked at src/lib.rs:12:9:\nboom\nnote: run with `RUST_BACKTRACE=1` ..."
    let lines: Vec<&str> = rest
        .lines()
        .take_while(|l| !l.starts_with("note: "))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Some(lines.join(" "))
}

impl IsTerminal for StderrTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrTail {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for StderrTail {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(TAIL)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for StderrTail {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for StderrTail {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_tail_and_finds_the_last_panic() {
        let t = StderrTail::default();
        t.push(&vec![b'x'; 10_000]);
        t.push(b"thread '<unnamed>' panicked at src/lib.rs:12:9:\nno column `tenant`\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n");
        let text = t.take();
        assert!(text.len() <= TAIL, "{}", text.len());
        assert_eq!(
            panic_message(&text).as_deref(),
            Some("panicked at src/lib.rs:12:9: no column `tenant`")
        );
        assert_eq!(t.take(), "", "taken");
        assert_eq!(panic_message("plain output\n"), None);
    }
}
