//! Web plumbing every route shares: the error type and pages, forms that come back filled in,
//! responses several ends send (redirects, downloads, stored files), 长辈模式, 朗读, CSRF and input checks, the client
//! address and quotas, health and metrics, static assets, charts, the published-page cache and the middleware serving it, QR
//! codes, and the helpers for place names and Shanghai dates.

pub mod assets;
pub mod charts;
pub mod client;
pub mod dates;
pub mod elder;
pub mod error;
pub mod form;
pub mod listen;
pub mod ops;
pub mod page_cache;
pub mod places;
pub mod qr;
pub mod respond;
pub mod security;
pub mod shared_pages;
