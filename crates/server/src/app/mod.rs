//! Use cases shared by the public pages, the back office, the workers, the CLI and the demo:
//! filing and handling cases, messages and objections (the tracked requests), checking and
//! storing rosters, reading photos and uploads, rendering disclosure text, the ledger head, the
//! search index, screening, calling WeChat's API, and the tracked-request views. Handlers call
//! these; the rules themselves live in `xiaowei_core`.

pub mod cases;
pub mod disclosure_text;
pub mod ledger;
pub mod messages;
pub mod objections;
pub mod phones;
pub mod photos;
pub mod rosters;
pub mod screening;
pub mod search;
pub mod tracked;
pub mod uploads;
pub mod wechat;

/// The cores this machine offers (at least one): how many ways work spread over threads or
/// pooled connections is cut.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}
