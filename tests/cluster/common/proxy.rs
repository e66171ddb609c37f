//! A fault-injecting TCP proxy in front of the test bed's API server, switched at run time.
//!
//! TLS runs end to end through it (the test bed's certificate is for 127.0.0.1, any port), so it
//! sees bytes, not requests: it can refuse connections, or black-hole them (accept and never
//! answer, and stall the connections already open), and counts connections. Tests trigger a
//! fault at an exact moment from kjob's own callbacks (`deploy::Observer`) or by watching the
//! cluster through a direct client.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards bytes both ways.
    Pass,
    /// Closes new connections at once and those open.
    Refuse,
    /// Accepts new connections and never answers; open connections stop forwarding (bytes are
    /// held until the mode changes, which is too late for the client's timeouts).
    BlackHole,
}

/// The proxy; stops accepting when dropped.
pub struct Proxy {
    port: u16,
    mode: watch::Sender<Mode>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.mode.send_replace(Mode::Refuse);
        self.task.abort();
    }
}

impl Proxy {
    /// A proxy on 127.0.0.1:0 forwarding to `upstream` (host:port), in pass-through mode.
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("bound").port();
        let (mode, _) = watch::channel(Mode::Pass);
        let accepted = Arc::new(AtomicUsize::new(0));
        let upstream = upstream.to_owned();
        let task = {
            let mode = mode.clone();
            let accepted = accepted.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let _ = client.set_nodelay(true);
                    let rx = mode.subscribe();
                    let upstream = upstream.clone();
                    tokio::spawn(serve(client, upstream, rx));
                }
            })
        };
        Proxy {
            port,
            mode,
            accepted,
            task,
        }
    }

    /// A proxy in front of the API server of the kubeconfig at `kubeconfig`.
    pub async fn in_front_of(kubeconfig: &str) -> Proxy {
        let text = std::fs::read_to_string(kubeconfig).expect("read the kubeconfig");
        Proxy::start(&server_of(&text)).await
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Switches the mode (synchronous: callable from an observer callback).
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
        eprintln!("proxy {}: {mode:?}", self.port);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Writes a copy of the kubeconfig at `kubeconfig` into `dir` whose server is this proxy
    /// (same address, so the certificate still verifies) and returns its path.
    pub fn kubeconfig(&self, kubeconfig: &str, dir: &Path) -> PathBuf {
        let text = std::fs::read_to_string(kubeconfig).expect("read the kubeconfig");
        let server = server_of(&text);
        let (host, _) = server.rsplit_once(':').expect("host:port");
        let copy = text.replace(
            &format!("https://{server}"),
            &format!("https://{host}:{}", self.port),
        );
        assert_ne!(copy, text, "the kubeconfig names https://{server}");
        let path = dir.join(format!("kubeconfig-proxy-{}", self.port));
        std::fs::write(&path, copy).expect("write the proxied kubeconfig");
        path
    }
}

/// The `host:port` of the (first) server in a kubeconfig.
fn server_of(kubeconfig: &str) -> String {
    kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: https://"))
        .expect("a server: https://... line")
        .trim()
        .trim_end_matches('/')
        .to_owned()
}

async fn serve(client: TcpStream, upstream: String, mut mode: watch::Receiver<Mode>) {
    let now = *mode.borrow_and_update();
    match now {
        Mode::Refuse => return,
        Mode::BlackHole => {
            // Hold the connection, silent, until the mode changes.
            let _ = mode.wait_for(|m| *m != Mode::BlackHole).await;
            return;
        }
        Mode::Pass => {}
    }
    let Ok(server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        pump(client_read, server_write, mode.clone()),
        pump(server_read, client_write, mode)
    );
}

/// Copies `from` to `to` while the mode lets it: held while black-holed, closed on refuse.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = mode.wait_for(|m| *m == Mode::Refuse) => return,
        };
        match mode.wait_for(|m| *m != Mode::BlackHole).await.map(|m| *m) {
            Ok(Mode::Pass) => {}
            _ => return,
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
    let _ = to.shutdown().await;
}
