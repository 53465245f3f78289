//! A program can keep the facade's handles in shared state (an axum `State`, a tonic service)
//! and await its futures on any tokio worker: checked when this file compiles.

use keyless::{Client, Credentials, File, Share};
use std::path::Path;

fn shareable<T: Send + Sync + 'static>() {}

fn sendable<F: std::future::Future + Send>(_: F) {}

#[test]
fn handles_are_send_sync_static_and_futures_are_send() {
    shareable::<Client>();
    shareable::<Share>();
    shareable::<File>();
    shareable::<Credentials>();
    shareable::<keyless::Error>();
}

/// Never called: it compiles only if every future it builds is `Send`.
#[allow(dead_code, reason = "a compile-time check")]
fn futures_are_send(client: Client, share: Share) {
    sendable(client.share("smb://h/s"));
    sendable(share.metadata("x"));
    sendable(share.open("x"));
    sendable(share.create("x"));
    sendable(share.walk(""));
    sendable(share.upload(Path::new("x"), "x", None));
    sendable(share.download("x", Path::new("x"), None));
    sendable(Credentials::auto().authenticate(client.kerberos(), "h", None));
    sendable(async move { share.read_dir("").next().await });
}
