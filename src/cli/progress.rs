//! The progress bar the CLI's long commands draw on stderr (hidden when stderr is not a
//! terminal), as a service [`Progress`].

use crate::services::Progress;
use std::io::IsTerminal as _;

/// A progress bar, cleared when dropped.
pub(super) struct Bar(indicatif::ProgressBar);

impl Bar {
    /// Counts steps: "Issuing [=====>    ] 1200/5000 3s".
    pub fn counting(message: &'static str) -> Self {
        let bar = Self::new(message, "{spinner} {msg} [{bar:40}] {pos}/{len} {elapsed}");
        bar.0
            .enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }

    /// Shows a share done: "Backing up [=====>    ] 40% 3s".
    pub fn percent(message: &'static str) -> Self {
        Self::new(message, "{spinner} {msg} [{bar:40}] {percent}% {elapsed}")
    }

    fn new(message: &'static str, template: &str) -> Self {
        let bar = if std::io::stderr().is_terminal() {
            indicatif::ProgressBar::new(0)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(message);
        Self(bar)
    }

    /// Starts the next phase of the work from zero under a new message.
    pub fn phase(&self, message: &'static str) {
        phase(&self.0, message);
    }

    /// A second handle on the same bar, for a callback that names phases while the bar
    /// itself is lent out as the progress.
    pub fn handle(&self) -> indicatif::ProgressBar {
        self.0.clone()
    }
}

/// Starts the next phase of `bar` from zero under `message`.
pub(super) fn phase(bar: &indicatif::ProgressBar, message: &'static str) {
    bar.set_position(0);
    bar.set_message(message);
}

impl Progress for Bar {
    fn report(&mut self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
