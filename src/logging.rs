//! Diagnostic logging through `tracing`: `-v` raises the level, `RUST_LOG` overrides it.

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
        .with_writer(std::io::stderr)
        .with_ansi(crate::ui::stderr_color())
        .without_time()
        .try_init();
}
