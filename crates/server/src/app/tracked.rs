//! What the public pages of every tracked request (办件, 留言, 异议) share: the timeline as the
//! filer sees it (public entries only, in Beijing time) and the filer's phone, masked.

use xiaowei_core::Phone;

use crate::state::AppState;
use crate::web::dates::shanghai_time;

/// One timeline entry on a filer's page.
pub struct PublicEvent {
    pub at: String,
    pub actor: String,
    pub note: String,
}

impl PublicEvent {
    /// The entry, if the filer may see it (`public` is the stored flag).
    pub fn shown(public: i64, at: i64, actor: String, note: String) -> Option<Self> {
        (public == 1).then(|| Self { at: shanghai_time(at), actor, note })
    }
}

/// The filer's sealed phone as their own page shows it (`139****1234`), or nothing if it does not
/// open.
pub fn masked_phone(state: &AppState, sealed: &[u8]) -> String {
    state.cipher().decrypt(sealed).ok().and_then(|p| Phone::parse(&p).ok()).map(|p| p.masked()).unwrap_or_default()
}
