//! The publication ledger's head as pages show it: the signed checkpoint and where each
//! configured witness stands with it (the witnesses' worker, `workers::witnesses`, submits the
//! checkpoints; the ledger pages, `public::ledger`, show them).

use xiaowei_core::ledger::{Hash, hash_hex};

use crate::state::AppState;
use crate::web::dates::shanghai_time;
use crate::web::error::AppError;

/// The current signed checkpoint text.
pub async fn current_checkpoint(state: &AppState) -> Result<(u64, Hash, String), AppError> {
    let key = state.ledger_key().await?;
    let (size, root) = state.store().ledger_head().await?;
    let text = key.sign_checkpoint(size, root).map_err(|e| AppError::Internal(format!("checkpoint: {e}")))?;
    Ok((size, root, text))
}

/// Where one configured witness stands with the current checkpoint.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WitnessView {
    /// The configured display name (e.g. 县纪委监委).
    pub name: String,
    pub vkey: String,
    /// Whether it cosigned the current checkpoint.
    pub cosigned: bool,
    /// The size of the newest tree it cosigned, 0 if none.
    pub size: u64,
    /// When it cosigned that tree (Asia/Shanghai), empty if never.
    pub at: String,
}

/// The current signed checkpoint with the cosignature lines of the witnesses that cosigned this
/// very tree, and where every configured witness stands.
pub struct Witnessed {
    pub size: u64,
    pub root: Hash,
    pub text: String,
    pub witnesses: Vec<WitnessView>,
    /// The newest tree any configured witness cosigned: size, root, and who.
    pub newest: Option<(u64, Hash, Vec<String>)>,
}

impl Witnessed {
    pub fn confirmed(&self) -> usize {
        self.witnesses.iter().filter(|w| w.cosigned).count()
    }
}

/// The first 16 hex digits of a root hash, in groups of four: what a notice board can carry.
pub fn short_hash(root: &Hash) -> String {
    let hex = hash_hex(root);
    hex.as_bytes()[..16].chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

/// The current checkpoint as witnessed: what the ledger pages and the notice-board sheet show.
pub async fn witnessed_checkpoint(state: &AppState) -> Result<Witnessed, AppError> {
    let (size, root, mut text) = current_checkpoint(state).await?;
    let configured = &state.config().witnesses;
    let keys: Vec<String> = configured.iter().map(|w| w.vkey.clone()).collect();
    let latest = state.store().latest_cosignatures(&keys).await?;
    let mut witnesses = Vec::new();
    let mut newest: Option<(u64, Hash, Vec<String>)> = None;
    for w in configured {
        let c = latest.iter().find(|c| c.witness == w.vkey);
        let cosigned = c.is_some_and(|c| c.size == size && c.root == root);
        if let Some(c) = c.filter(|_| cosigned) {
            text.push_str(&c.signature);
            text.push('\n');
        }
        if let Some(c) = c {
            match &mut newest {
                Some((s, r, names)) if *s == c.size && *r == c.root => names.push(w.name.clone()),
                Some((s, _, _)) if *s >= c.size => {}
                _ => newest = Some((c.size, c.root, vec![w.name.clone()])),
            }
        }
        witnesses.push(WitnessView {
            name: w.name.clone(),
            vkey: w.vkey.clone(),
            cosigned,
            size: c.map_or(0, |c| c.size),
            at: c.map(|c| shanghai_time(c.signed_at)).unwrap_or_default(),
        });
    }
    Ok(Witnessed { size, root, text, witnesses, newest })
}
