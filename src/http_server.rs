//! The HTTP accept loop: poem's endpoint on hyper connections, with the limits
//! an Internet-facing server needs and `poem::Server` does not expose.
//!
//! - A connection must send a whole request head within `header_timeout`,
//!   and an idle keep-alive connection is closed after the same time (hyper's
//!   header-read timer runs whenever the connection waits for a head), so a
//!   slowloris client cannot hold a connection for ever.
//! - At most `max_connections` are open: at the cap the server stops
//!   accepting (new clients wait in the kernel's backlog) instead of running
//!   out of file descriptors.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, EndpointExt, IntoEndpoint, Response};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight
/// requests finish for up to `grace`.
pub async fn serve<E>(
    listener: TcpListener,
    app: E,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let app: Arc<BoxEndpoint<'static, Response>> = Arc::new(app.into_endpoint().map_to_response().boxed());
    let local = LocalAddr(Addr::SocketAddr(listener.local_addr()?));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting an HTTP connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = {
            let (app, local, remote) = (app.clone(), local.clone(), RemoteAddr(Addr::SocketAddr(peer)));
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let app = app.clone();
                let req = poem::Request::from((req, local.clone(), remote.clone(), Scheme::HTTP));
                async move { Ok::<_, Infallible>(HyperResponse::from(app.get_response(req).await)) }
            })
        };
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
        builder.http2().timer(TokioTimer::new()).keep_alive_interval(limits.header_timeout);
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // hyper's version detection waits for the first bytes with no timer
            // of its own: a client that never sends one is closed here.
            let mut first = [0u8; 1];
            if !matches!(tokio::time::timeout(limits.header_timeout, stream.peek(&mut first)).await, Ok(Ok(1))) {
                return;
            }
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(peer = %peer, error = %e, "HTTP connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(grace) => tracing::warn!("shutdown grace over: closing the remaining connections"),
    }
    Ok(())
}

type HyperResponse = hyper::Response<BoxBody<Bytes, std::io::Error>>;
