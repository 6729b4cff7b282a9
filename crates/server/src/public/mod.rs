//! The public ends: the pages villagers open from the WeChat menu or at a hall terminal, the
//! ledger, the WeChat callback and the terminals' enrolment. Each module owns its `router()`;
//! they read through the store and the use cases in [`crate::app`], and never write around them.

pub mod board;
pub mod disclosures;
pub mod home;
pub mod kiosk;
pub mod ledger;
pub mod messages;
pub mod phones;
pub mod posters;
pub mod powers;
pub mod search;
pub mod services;
pub mod subsidies;
pub mod village_office;
pub mod wechat;
