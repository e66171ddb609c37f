//! GKE credentials from a `KubernetesProviderConfigGcpGke`: the cluster endpoint and CA as
//! given, and a bearer token obtained by exchanging the service account key for an OAuth 2
//! access token at the key's own `token_uri` (RFC 7523: a JWT signed RS256 with the key,
//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`). Upstream runs an exec plugin for
//! the same exchange; kjob does it itself, so nothing needs installing.
//!
//! The key and the token are secrets: they live in memory only, and no error shows them (nor
//! the token server's answer beyond its `error` and `error_description`).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Deserialize;
use serde_json::json;

use super::http;

/// The scope asked for: what `gcloud` asks for a GKE cluster.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The lifetime asked for, in seconds (the most Google grants).
pub const LIFETIME: u64 = 3600;

/// The fields of a service account key file kjob reads.
#[derive(Deserialize)]
struct ServiceAccountKey {
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: String,
    token_uri: String,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

/// The DER bytes of a PEM block (`-----BEGIN PRIVATE KEY-----`, PKCS #8).
fn pem_der(pem: &str) -> Result<Vec<u8>, String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    if !pem.contains("-----BEGIN PRIVATE KEY-----") {
        return Err("private_key is not a PKCS #8 PEM block (BEGIN PRIVATE KEY)".into());
    }
    STANDARD
        .decode(body)
        .map_err(|_| "private_key: the PEM block is not valid base64".into())
}

/// The signed JWT assertion for `key`, issued at `now` (seconds since the epoch).
fn assertion(key: &ServiceAccountKey, now: u64) -> Result<String, String> {
    let der = pem_der(&key.private_key)?;
    let pair = RsaKeyPair::from_pkcs8(&der)
        .map_err(|e| format!("private_key is not a usable RSA key: {e}"))?;
    let mut header = json!({"alg": "RS256", "typ": "JWT"});
    if !key.private_key_id.is_empty() {
        header["kid"] = json!(key.private_key_id);
    }
    let claims = json!({
        "iss": key.client_email,
        "scope": SCOPE,
        "aud": key.token_uri,
        "iat": now,
        "exp": now + LIFETIME,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "cannot sign the token request with private_key".to_owned())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Exchanges the base64 service account key (`serviceAccountKeyBase64`) for an access token.
pub async fn access_token(key_base64: &str) -> Result<String, String> {
    let what = "providerConfig.gcpGke.serviceAccountKeyBase64";
    let json = STANDARD
        .decode(key_base64.trim())
        .map_err(|_| format!("{what}: not valid base64"))?;
    let key: ServiceAccountKey = serde_json::from_slice(&json).map_err(|e| {
        // Only a missing field is named: other messages may quote the key's contents.
        let detail = e.to_string();
        let detail = match detail.split_once(" at line") {
            Some((missing, _)) if missing.starts_with("missing field") => missing.to_owned(),
            _ => format!("{:?} error", e.classify()).to_lowercase(),
        };
        format!(
            "{what}: not a service account key (JSON with client_email, private_key, token_uri): {detail}"
        )
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let assertion = assertion(&key, now).map_err(|e| format!("{what}: {e}"))?;
    let body = format!(
        "grant_type={}&assertion={}",
        form_encode("urn:ietf:params:oauth:grant-type:jwt-bearer"),
        form_encode(&assertion)
    );
    let answer = http::send(
        hyper::Method::POST,
        &key.token_uri,
        Some("application/x-www-form-urlencoded"),
        body.into_bytes(),
    )
    .await
    .map_err(|e| format!("the token exchange for {}: {e}", key.client_email))?;
    let reply: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
    if !answer.status.is_success() {
        let field = |name: &str| reply[name].as_str().unwrap_or("").to_owned();
        return Err(format!(
            "the token exchange for {} at {} was refused ({}): {} {}",
            key.client_email,
            key.token_uri,
            answer.status,
            field("error"),
            field("error_description")
        )
        .trim_end()
        .to_owned());
    }
    reply["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "the token exchange for {} at {}: the answer has no access_token",
                key.client_email, key.token_uri
            )
        })
}

/// A kubeconfig (YAML) for the cluster at `endpoint` (`host[:port]`, or a URL) with the base64
/// CA bundle `ca_data`, authenticating with `token`.
pub fn kubeconfig(endpoint: &str, ca_data: &str, token: &str) -> String {
    let server = if endpoint.starts_with("https://") || endpoint.starts_with("http://") {
        endpoint.to_owned()
    } else {
        format!("https://{endpoint}")
    };
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "gke",
        "clusters": [{"name": "gke", "cluster": {"server": server, "certificate-authority-data": ca_data.trim()}}],
        "users": [{"name": "gke", "user": {"token": token}}],
        "contexts": [{"name": "gke", "context": {"cluster": "gke", "user": "gke"}}],
    });
    // JSON is YAML: kube reads it as a kubeconfig.
    config.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        assert_eq!(form_encode("a b+c/d=e:f"), "a%20b%2Bc%2Fd%3De%3Af");
        assert_eq!(form_encode("A-z_0.9~"), "A-z_0.9~");
    }

    #[test]
    fn bad_keys_are_named_without_their_contents() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let e = rt.block_on(access_token("not base64 !!")).unwrap_err();
        assert!(e.contains("not valid base64"), "{e}");
        let key = STANDARD.encode(r#"{"client_email": "a@b", "private_key": "SECRETKEYTEXT", "token_uri": "http://127.0.0.1:1/token"}"#);
        let e = rt.block_on(access_token(&key)).unwrap_err();
        assert!(e.contains("PKCS #8") && !e.contains("SECRETKEYTEXT"), "{e}");
    }

    #[test]
    fn the_kubeconfig_uses_the_token() {
        let text = kubeconfig("10.0.0.1", "Q0E=\n", "tok");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["clusters"][0]["cluster"]["server"],
            "https://10.0.0.1"
        );
        assert_eq!(
            value["clusters"][0]["cluster"]["certificate-authority-data"],
            "Q0E="
        );
        assert_eq!(value["users"][0]["user"]["token"], "tok");
    }
}
