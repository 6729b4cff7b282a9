//! Xiaowei's domain: the types and rules of village-level micro-power supervision.
//!
//! Everything here is pure — no database, no network, no clock reads — so that the rules can be
//! unit- and property-tested in isolation. Input is parsed once into these types at the edge.

pub mod access;
pub mod alert;
pub mod code;
pub mod disclosure;
pub mod kiosk;
pub mod ledger;
pub mod login;
pub mod message;
pub mod money;
pub mod monitor;
pub mod objection;
pub mod open311;
pub mod org;
pub mod outbox;
pub mod period;
pub mod phone;
pub mod phone_proof;
pub mod pii;
pub mod power;
pub mod power_lists;
pub mod registry;
pub mod registry_snapshot;
pub mod resident_id;
pub mod roster;
pub mod screening;
pub mod search;
pub mod service;
pub mod service_links;
pub mod spoken;
pub mod subsidy;
pub mod text;
pub mod tracked;
pub mod village_office;
pub mod witness;
pub mod workday;

pub use access::{Permission, Role};
pub use code::{Transition, UnknownCode};
pub use money::Fen;
pub use org::{DivisionCode, OrgLevel};
pub use phone::Phone;
pub use pii::{PiiCipher, PiiKey, TokenKey};
pub use resident_id::ResidentId;
