//! The Pulumi resource provider: the gRPC server behind `pulumi-resource-kjob`.
//!
//! Launch contract: bind 127.0.0.1 on a free port and print the port alone on stdout; the
//! engine's address is the last argument (none means attach mode, `PULUMI_DEBUG_PROVIDERS`);
//! user-visible messages go through the engine's `Engine.Log`; messages up to 400 MiB; shut
//! down cleanly on Cancel, SIGINT or SIGTERM.
//!
//! **Cancellation.** One [`CancellationToken`] is the provider's: Pulumi's Cancel, SIGINT and
//! SIGTERM cancel it. The operations in flight race it in their waits and deploy sequences
//! ([`crate::wait`], [`crate::deploy`]), so they end at once (Create and Update with a partial
//! failure carrying what exists); then the server stops accepting calls, lets the answers in
//! flight go out, and [`serve`] returns, at the latest [`SHUTDOWN_GRACE`] after the token was
//! cancelled (Pulumi sends Cancel, then kills the provider).

pub mod config;
pub mod engine;
pub mod inputs;
pub mod resource;
pub mod service;
pub mod values;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

use crate::api::grpc_health::health_server::{Health, HealthServer};
use crate::api::grpc_health::{
    HealthCheckRequest, HealthCheckResponse, health_check_response::ServingStatus,
};
use crate::api::pulumirpc::resource_provider_server::ResourceProviderServer;

/// The engine's message size limit, which the provider matches.
pub const MAX_MESSAGE: usize = 400 * 1024 * 1024;

/// How long calls in flight get to answer once the provider is cancelled, before [`serve`]
/// returns without them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

struct Healthy;

#[tonic::async_trait]
impl Health for Healthy {
    async fn check(
        &self,
        _: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<HealthCheckResponse>, tonic::Status> {
        Ok(tonic::Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }

    type WatchStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<HealthCheckResponse, tonic::Status>> + Send>,
    >;

    async fn watch(
        &self,
        _: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, tonic::Status> {
        let once = tokio_stream::once(Ok(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }));
        Ok(tonic::Response::new(Box::pin(once)))
    }
}

/// Runs the provider until Cancel or a signal. `args` are the process arguments after the
/// program name; the engine address is the last one that is not a flag.
pub async fn serve(args: Vec<String>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let engine_address = args.iter().rev().find(|a| !a.starts_with('-')).cloned();
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let port = listener.local_addr()?.port();

    let log = engine::EngineLog::default();
    if let Some(address) = &engine_address {
        log.connect(address).await;
    }
    let cancel = CancellationToken::new();
    let provider = service::KjobProvider::new(log, cancel.clone());
    let service = ResourceProviderServer::new(provider)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);

    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{port}")?;
        stdout.flush()?;
    }

    // A signal cancels what is in flight first, then stops the server. Both are caught from
    // here on, before the engine can start anything.
    let mut signals = crate::os::Stop::catch();
    let stop = {
        let cancel = cancel.clone();
        async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                name = crate::os::Stop::next_of(signals.as_mut()) => tracing::debug!("{name} received"),
            }
            cancel.cancel();
        }
    };
    // TCP_NODELAY on every accepted connection: without it a response written in two parts
    // waits for the client's delayed ACK (~40 ms per Check; see BENCHMARKS.md).
    let incoming = TcpListenerStream::new(listener).map(|stream| {
        if let Ok(stream) = &stream {
            let _ = stream.set_nodelay(true);
        }
        stream
    });
    let server = tonic::transport::Server::builder()
        .add_service(HealthServer::new(Healthy))
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, stop);
    let grace = async {
        cancel.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        served = server => served?,
        () = grace => tracing::debug!("calls still in flight {SHUTDOWN_GRACE:?} after cancellation: not waiting for them"),
    }
    Ok(())
}
