//! Diagnostic logging through `tracing`: `-v` raises the level, `RUST_LOG` overrides it; every
//! line goes through the secret mask, so a logged command never shows a secret value.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; logs go to stderr so they never mix with reports on stdout.
pub fn init(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "planrun=info",
        2 => "planrun=debug",
        _ => "planrun=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(MaskedStderr)
        .with_ansi(crate::ui::stderr_color())
        .without_time()
        .try_init();
}

/// Makes one [`MaskedEvent`] per log event.
struct MaskedStderr;

impl<'a> MakeWriter<'a> for MaskedStderr {
    type Writer = MaskedEvent;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedEvent(Vec::new())
    }
}

/// Collects one formatted event and writes it to stderr, masked, when dropped: a secret split
/// across two `write` calls is still masked whole.
struct MaskedEvent(Vec<u8>);

impl Write for MaskedEvent {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for MaskedEvent {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let masked = crate::secrets::mask_output(&text);
        let _ = io::stderr().lock().write_all(masked.as_bytes());
    }
}
