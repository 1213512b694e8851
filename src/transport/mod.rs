//! HTTP details both front ends (the API and the screens) need alike.

use std::net::IpAddr;

use actix_web::HttpRequest;

/// The client's address, for rate limiting: the peer, or — when the configuration says a
/// trusted proxy sits in front — the last X-Forwarded-For entry, the one that proxy added
/// (entries before it come from the client and can be forged).
pub fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| {
            req.headers()
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .rsplit(',')
                .next()?
                .trim()
                .parse::<IpAddr>()
                .ok()
        })
        .flatten();
    forwarded
        .or_else(|| req.peer_addr().map(|a| a.ip()))
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

pub mod access;
pub mod limits;
pub use limits::head_limits;
pub mod metrics;
pub use metrics::guard_metrics;
pub mod documents;
