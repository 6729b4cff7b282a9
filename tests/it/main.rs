//! Integration tests: the real server on port 0, spoken to over HTTP, on SQLite and PostgreSQL.
//! One test binary keeps link time down.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step fails the test

mod alerts;
mod api;
mod backup;
mod cli;
mod disclosures;
mod forms;
mod hardening_edge;
mod hardening_load;
mod hardening_privacy;
mod helpers;
mod key_rotation;
mod kiosk;
mod ledger;
mod listen;
mod lists;
mod messages;
mod monitor;
mod objections;
mod open311;
mod opendata;
mod page_cache;
mod periods;
mod phones;
mod powers;
mod public;
mod rbac;
mod rosters;
mod screening;
mod services;
mod staff;
mod upgrade;
mod village_office;
mod walkthrough_faults;
mod wechat;
mod witness;
