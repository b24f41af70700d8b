//! Standard output and error for commands. Writing to a closed pipe is an error the command
//! reports (and exits non-zero), never a panic; notes on standard error are best effort.

use std::io::Write;

/// Why output stopped.
#[derive(Debug, thiserror::Error)]
#[error("standard output: {0}")]
pub struct OutputError(#[from] std::io::Error);

impl OutputError {
    /// True when the reader went away (`| head`, `| true`).
    pub fn is_closed_pipe(&self) -> bool {
        self.0.kind() == std::io::ErrorKind::BrokenPipe
    }
}

/// Writes `text` and a newline to standard output.
pub fn line(text: &str) -> Result<(), OutputError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// Writes `text` to standard output, adding a final newline if it has none.
pub fn text(text: &str) -> Result<(), OutputError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Writes a note for the person (progress, where a file went) to standard error.
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// `outln!("...", args)`: [`line`] with `format!` arguments, `?`-propagating the error.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::output::line(&format!($($arg)*))?
    };
}
