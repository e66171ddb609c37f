//! Messages to the user through the engine's `Engine.Log` (a provider's stdout and stderr are
//! hidden by the engine).

use std::sync::Arc;

use tokio::sync::Mutex;
use tonic::transport::{Channel, Endpoint};

use crate::api::pulumirpc::engine_client::EngineClient;
use crate::api::pulumirpc::{LogRequest, LogSeverity};

/// A handle to the engine's log service; logging before it is connected only traces.
#[derive(Clone, Default)]
pub struct EngineLog {
    client: Arc<Mutex<Option<EngineClient<Channel>>>>,
}

impl EngineLog {
    /// Points the log at the engine's address (`127.0.0.1:PORT`); connects lazily.
    pub async fn connect(&self, address: &str) {
        let uri = if address.contains("://") {
            address.to_owned()
        } else {
            format!("http://{address}")
        };
        match Endpoint::from_shared(uri) {
            Ok(endpoint) => {
                let client = EngineClient::new(endpoint.connect_lazy())
                    .max_decoding_message_size(super::MAX_MESSAGE)
                    .max_encoding_message_size(super::MAX_MESSAGE);
                *self.client.lock().await = Some(client);
            }
            Err(e) => tracing::warn!("engine address {address:?} is not usable: {e}"),
        }
    }

    /// Sends one message about resource `urn` (may be empty).
    pub async fn log(
        &self,
        severity: LogSeverity,
        urn: &str,
        message: impl Into<String>,
        ephemeral: bool,
    ) {
        let message = message.into();
        tracing::debug!(%urn, ?severity, ephemeral, "{message}");
        let client = self.client.lock().await.clone();
        if let Some(mut client) = client {
            let request = LogRequest {
                severity: severity as i32,
                message,
                urn: urn.to_owned(),
                stream_id: 0,
                ephemeral,
            };
            if let Err(e) = client.log(request).await {
                tracing::debug!("engine log failed: {e}");
            }
        }
    }

    /// An informational message.
    pub async fn info(&self, urn: &str, message: impl Into<String>) {
        self.log(LogSeverity::Info, urn, message, false).await;
    }

    /// A warning.
    pub async fn warn(&self, urn: &str, message: impl Into<String>) {
        self.log(LogSeverity::Warning, urn, message, false).await;
    }

    /// A transient status line (the "Info" column of the progress view).
    pub async fn status(&self, urn: &str, message: impl Into<String>) {
        self.log(LogSeverity::Info, urn, message, true).await;
    }
}
