//! The fake engine the providers talk to, spawning and connecting to provider plugins, the
//! start-up measurement, and the in-process provider of the TCP_NODELAY diagnostic.

use super::*;

// ---------------------------------------------------------------------------------------------
// The fake engine: accepts logs (counted), answers the rest trivially.

#[derive(Default)]
pub(crate) struct FakeEngine {
    pub(crate) logs: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl Engine for FakeEngine {
    async fn log(&self, _: Request<rpc::LogRequest>) -> Result<Response<()>, Status> {
        self.logs.fetch_add(1, Ordering::Relaxed);
        Ok(Response::new(()))
    }
    async fn get_root_resource(
        &self,
        _: Request<rpc::GetRootResourceRequest>,
    ) -> Result<Response<rpc::GetRootResourceResponse>, Status> {
        Ok(Response::new(rpc::GetRootResourceResponse {
            urn: String::new(),
        }))
    }
    async fn set_root_resource(
        &self,
        _: Request<rpc::SetRootResourceRequest>,
    ) -> Result<Response<rpc::SetRootResourceResponse>, Status> {
        Ok(Response::new(rpc::SetRootResourceResponse {}))
    }
    async fn start_debugging(
        &self,
        _: Request<rpc::StartDebuggingRequest>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
    async fn require_pulumi_version(
        &self,
        _: Request<rpc::RequirePulumiVersionRequest>,
    ) -> Result<Response<rpc::RequirePulumiVersionResponse>, Status> {
        Ok(Response::new(rpc::RequirePulumiVersionResponse {}))
    }
}

pub(crate) async fn start_engine() -> Result<(String, Arc<AtomicU64>), Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let engine = FakeEngine::default();
    let logs = engine.logs.clone();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(EngineServer::new(engine))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    Ok((addr.to_string(), logs))
}

// ---------------------------------------------------------------------------------------------
// Provider processes.

pub(crate) struct Plugin {
    pub(crate) child: Child,
    pub(crate) port: u16,
    pub(crate) started: Duration,
}

pub(crate) async fn spawn(bin: &str, engine: &str) -> Result<Plugin, Error> {
    let t0 = Instant::now();
    let mut child = Command::new(bin)
        .arg(engine)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await??
        .ok_or("the provider printed nothing")?;
    let started = t0.elapsed();
    let port: u16 = line
        .trim()
        .parse()
        .map_err(|e| format!("first stdout line {line:?} is not a port: {e}"))?;
    // Keep draining stdout so the plugin never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Plugin {
        child,
        port,
        started,
    })
}

pub(crate) fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub(crate) async fn stop(mut plugin: Plugin) {
    let _ = plugin.child.start_kill();
    let _ = plugin.child.wait().await;
}

pub(crate) async fn connect(port: u16) -> Result<Client, Error> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))?
        .connect()
        .await?;
    Ok(ResourceProviderClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE))
}

/// Start-up to port printed, and RSS after 1 s idle, alternating the binaries. One process at a
/// time; round 0 warms the page cache for every binary and is not counted.
pub(crate) async fn bench_startup(
    bins: &[(&str, &str)],
    engine: &str,
    n: usize,
) -> Result<Value, Error> {
    let mut times: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut rss: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in 0..n + 1 {
        for (label, bin) in bins {
            let plugin = spawn(bin, engine).await?;
            let started = ms(plugin.started);
            tokio::time::sleep(Duration::from_secs(1)).await;
            let kib = plugin
                .child
                .id()
                .and_then(|pid| proc_status_kib(pid, "VmRSS:"))
                .ok_or("cannot read VmRSS")?;
            stop(plugin).await;
            if round > 0 {
                times.entry(label).or_default().push(started);
                rss.entry(label).or_default().push(kib as f64 / 1024.0);
            }
        }
    }
    let mut out = serde_json::Map::new();
    for (label, _) in bins {
        out.insert(
            (*label).to_owned(),
            json!({"to_port_ms": stats(&times[label]), "idle_rss_mib": stats(&rss[label])}),
        );
    }
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------------------------------------
// Diagnostic: the same provider in-process, on accepted sockets left as they come and with
// TCP_NODELAY set on each (as `kjob::provider::serve` now does). A gap between the two is
// Nagle's algorithm meeting the client's delayed ACK (about 40 ms on Linux), not provider work;
// it stays in the benchmark so a regression in `serve` shows up beside it.

pub(crate) async fn inproc_provider(nodelay: bool) -> Result<Client, Error> {
    use kjob::api::pulumirpc::resource_provider_server::ResourceProviderServer;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let service = ResourceProviderServer::new(kjob::provider::service::KjobProvider::new(
        kjob::provider::engine::EngineLog::default(),
        Default::default(),
    ))
    .max_decoding_message_size(MAX_MESSAGE)
    .max_encoding_message_size(MAX_MESSAGE);
    let incoming = TcpListenerStream::new(listener).map(move |s| {
        s.inspect(|s| {
            if nodelay {
                let _ = s.set_nodelay(true);
            }
        })
    });
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming),
    );
    connect(addr.port()).await
}

pub(crate) async fn bench_nodelay(n: usize, kubeconfig: &str) -> Result<Value, Error> {
    let mut out = serde_json::Map::new();
    let news = kjob_inputs("nodelay", "kjob-bench-never-created", 1);
    for (label, nodelay) in [("without_nodelay", false), ("tcp_nodelay", true)] {
        let mut client = inproc_provider(nodelay).await?;
        configure_kjob(&mut client, kubeconfig, false).await?;
        let mut samples = Vec::new();
        for i in 0..n + 10 {
            let t = Instant::now();
            check(&mut client, KJOB_TYPE, "nodelay", &news).await?;
            if i >= 10 {
                samples.push(ms(t.elapsed()));
            }
        }
        out.insert(label.into(), json!({"check": stats(&samples)}));
    }
    Ok(Value::Object(out))
}
