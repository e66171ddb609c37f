//! Tracing set-up for both binaries: `KJOB_LOG` (an `EnvFilter` directive, default `warn`
//! with the Kubernetes client's own connection errors silenced, since every failure is
//! reported once, with context, by our own error) decides what reaches stderr. Secret values
//! are never passed to tracing.

/// Installs the stderr subscriber once; later calls do nothing.
pub fn init() {
    init_with("warn,kube_client=off");
}

/// Installs the stderr subscriber once with `directive` unless `KJOB_LOG` says otherwise (the
/// CLI's `-v` and `-vv` raise kjob's own level this way).
pub fn init_with(directive: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KJOB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directive));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
