//! The web console at `GET /`: one page (HTML, CSS and JavaScript embedded in
//! the binary, no build step) listing sessions and tasks and streaming one
//! session's events, with permission requests answered in the page.
//!
//! The page holds no data, so it is served without authentication; every API
//! call it makes carries the bearer token typed into it (kept in the tab's
//! `sessionStorage`), and its event streams use a ticket from `POST /v1/tickets`.

use axum::Router;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;

/// One embedded file: where it is served and what it is.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("index.html"),
    },
    Asset {
        path: "/console/console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("console.js"),
    },
    Asset {
        path: "/console/console.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("console.css"),
    },
];

/// Only this origin's scripts and connections: a script injected into an
/// event's text could not run, nor send the token elsewhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn serve(asset: &'static Asset) -> impl IntoResponse {
    let headers: [(HeaderName, HeaderValue); 5] = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        // Event stream URLs carry a ticket: never send them on as a referrer.
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    (headers, asset.body)
}

/// The console's routes (no authentication: the page holds no data).
pub(crate) fn router() -> Router {
    ASSETS.iter().fold(Router::new(), |router, asset| {
        router.route(asset.path, get(move || async move { serve(asset) }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_the_embedded_script_and_style() {
        let page = ASSETS[0].body;
        for asset in &ASSETS[1..] {
            assert!(page.contains(asset.path), "{} is not linked", asset.path);
        }
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!page.contains("<script>"), "inline scripts break the CSP");
    }

    #[test]
    fn the_script_never_puts_the_token_in_a_url() {
        let script = ASSETS[1].body;
        assert!(script.contains("/v1/tickets"));
        assert!(!script.contains("token=") && !script.contains("?token"));
    }
}
