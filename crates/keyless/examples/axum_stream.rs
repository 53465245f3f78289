//! An HTTP service that streams files from an Azure file share, authenticated with the VM's
//! (or pod's, or App Service's) managed identity: no storage account key anywhere.
//!
//! ```text
//! cargo run -p keyless --example axum_stream -- smb://account.file.core.windows.net/share 127.0.0.1:8080
//! curl http://127.0.0.1:8080/files/reports/2026.pdf
//! ```
//! Options: `--ip ADDR` (connect there instead of the URL's host), `--file-endpoint URL`
//! (where the token is traded for a ticket; default `https://<host>/`). The identity is the
//! environment's (`AZURE_FEDERATED_TOKEN_FILE`, `IDENTITY_ENDPOINT`, else IMDS, whose address
//! `AZURE_POD_IDENTITY_AUTHORITY_HOST` may change); `SSL_CERT_FILE` adds a CA to trust.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keyless::{Client, Credentials, ErrorKind, ManagedIdentity, Share};
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, listen, ..] = args.as_slice() else {
        return Err("usage: axum_stream smb://host/share LISTEN_ADDR [--ip ADDR] [--file-endpoint URL]".into());
    };
    let option = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let mut identity = ManagedIdentity::auto();
    if let Some(endpoint) = option("--file-endpoint") {
        identity = identity.file_endpoint(endpoint);
    }
    let mut builder = Client::builder().credentials(Credentials::managed_identity(identity));
    if let Some(ip) = option("--ip") {
        builder = builder.address(ip);
    }
    // One session, made now and shared by every request; tickets are renewed as they near
    // their end, and a dropped connection is made again underneath.
    let share = builder.build()?.share(url).await?;
    let app = axum::Router::new().route("/files/{*path}", axum::routing::get(file)).with_state(share);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("serving {url} on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// `GET /files/<path>`: the file's bytes, streamed as they are read from the share.
async fn file(State(share): State<Share>, Path(path): Path<String>) -> Response {
    let file = match share.open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return (StatusCode::NOT_FOUND, e.to_string()).into_response(),
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let size = file.opened_metadata().size;
    let chunks = futures_util::stream::unfold(Some(file), |f| async move {
        let mut f = f?;
        let mut chunk = vec![0; 1 << 20];
        match f.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok::<_, std::io::Error>(chunk), Some(f)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Response::builder()
        .header("content-length", size)
        .header("content-type", "application/octet-stream")
        .body(Body::from_stream(chunks))
        .unwrap_or_else(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())
}
