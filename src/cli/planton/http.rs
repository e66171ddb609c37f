//! A small HTTP(S) client for the Planton inputs: fetching a manifest given as a URL and the
//! GKE token exchange. It is the hyper stack kube already uses (rustls with the system's roots),
//! with one deadline per request and a size limit on answers.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Answers larger than this are refused (a manifest or a token answer is small).
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// How long one request may take, answer included.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// An answer: status and body text.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body, as UTF-8 (lossy).
    pub body: String,
}

/// Sends one request; `url` is http or https. Errors name the URL (never a request body).
pub async fn send(
    method: Method,
    url: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<Answer, String> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| format!("{url}: not a valid URL: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(format!("{url}: only http and https URLs are supported")),
    }
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| format!("cannot load the system's TLS roots: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        request = request.header(hyper::header::CONTENT_TYPE, content_type);
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("{url}: {e}"))?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("{url}: {}", error_chain(&e)))?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("{url}: reading the answer: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    };
    tokio::time::timeout(DEADLINE, exchange)
        .await
        .map_err(|_| format!("{url}: no answer within {} s", DEADLINE.as_secs()))?
}

/// GETs `url`'s text; any status but 2xx is an error naming it.
pub async fn get_text(url: &str) -> Result<String, String> {
    let answer = send(Method::GET, url, None, Vec::new()).await?;
    if !answer.status.is_success() {
        return Err(format!("{url}: the server answered {}", answer.status));
    }
    Ok(answer.body)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
