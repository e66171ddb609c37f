//! The built provider launched as the Pulumi engine launches it, and a fake engine that records
//! every `Engine.Log` message. Shared by `tests/load.rs` and `tests/secrets.rs`
//! (`#[path = "support/launch.rs"] mod launch;`).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kjob::api::pulumirpc::engine_server::{Engine, EngineServer};
use kjob::api::pulumirpc::resource_provider_client::ResourceProviderClient;
use kjob::api::pulumirpc::{
    GetRootResourceRequest, GetRootResourceResponse, LogRequest, RequirePulumiVersionRequest,
    RequirePulumiVersionResponse, SetRootResourceRequest, SetRootResourceResponse,
    StartDebuggingRequest,
};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

/// A fake engine: records every Log request.
#[derive(Clone, Default)]
pub struct FakeEngine {
    pub logs: Arc<Mutex<Vec<LogRequest>>>,
}

#[tonic::async_trait]
impl Engine for FakeEngine {
    async fn log(&self, request: Request<LogRequest>) -> Result<Response<()>, Status> {
        self.logs.lock().unwrap().push(request.into_inner());
        Ok(Response::new(()))
    }
    async fn get_root_resource(
        &self,
        _: Request<GetRootResourceRequest>,
    ) -> Result<Response<GetRootResourceResponse>, Status> {
        Ok(Response::new(GetRootResourceResponse::default()))
    }
    async fn set_root_resource(
        &self,
        _: Request<SetRootResourceRequest>,
    ) -> Result<Response<SetRootResourceResponse>, Status> {
        Ok(Response::new(SetRootResourceResponse::default()))
    }
    async fn start_debugging(
        &self,
        _: Request<StartDebuggingRequest>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
    async fn require_pulumi_version(
        &self,
        _: Request<RequirePulumiVersionRequest>,
    ) -> Result<Response<RequirePulumiVersionResponse>, Status> {
        Ok(Response::new(RequirePulumiVersionResponse::default()))
    }
}

impl FakeEngine {
    /// Serves the fake engine on 127.0.0.1; returns it and its address (`127.0.0.1:PORT`).
    pub async fn start() -> (FakeEngine, String) {
        let engine = FakeEngine::default();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake engine");
        let address = listener.local_addr().unwrap().to_string();
        let service = EngineServer::new(engine.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        (engine, address)
    }

    /// Every message logged so far.
    pub fn messages(&self) -> Vec<LogRequest> {
        self.logs.lock().unwrap().clone()
    }
}

/// `pulumi-resource-kjob` as a child process: `<binary> <engine address>`, the port read from
/// the first line of stdout, stderr collected. SIGINT on drop.
pub struct Provider {
    child: Child,
    pub port: u16,
    stderr: Arc<Mutex<Vec<u8>>>,
    stdout: Arc<Mutex<Vec<u8>>>,
}

impl Provider {
    /// Launches the provider with `engine` as its engine address and extra environment.
    pub fn launch(engine: &str, env: &[(&str, &str)]) -> Provider {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pulumi-resource-kjob"));
        command
            .arg(engine)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("launch pulumi-resource-kjob");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the port");
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the first line of stdout is the port, got {line:?}"));
        let collect = |mut from: Box<dyn Read + Send>| {
            let sink = Arc::new(Mutex::new(Vec::new()));
            let to = sink.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = from.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    to.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
            sink
        };
        let stderr = collect(Box::new(child.stderr.take().unwrap()));
        let stdout = collect(Box::new(stdout));
        Provider {
            child,
            port,
            stderr,
            stdout,
        }
    }

    /// A gRPC client for it (as many as wanted share one connection when cloned).
    pub async fn client(&self) -> ResourceProviderClient<Channel> {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{}", self.port))
                .unwrap()
                .connect_timeout(Duration::from_secs(10))
                .connect()
                .await
                .expect("connect to the provider");
        ResourceProviderClient::new(channel)
            .max_decoding_message_size(400 << 20)
            .max_encoding_message_size(400 << 20)
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// What it printed on stdout after the port line so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// Sends it `signal` (`TERM`, `INT`), by its PID.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {}", self.child.id());
    }

    /// Waits at most `limit` for it to exit: its exit status, or `None` if it still runs.
    pub fn exited_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops it with SIGINT and waits (at most 10 s) for a clean exit; returns whether it was.
    pub fn stop(&mut self) -> bool {
        let pid = self.child.id() as i32;
        // Our own child, by its PID.
        let _ = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}
