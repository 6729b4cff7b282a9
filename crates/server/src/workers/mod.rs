//! Background work that runs beside the server (most of it when `workers = true`) and is driven
//! by tests with a controlled clock: clocks and text delivery, the alert scan, page-view and lookup batches,
//! the published-content version, witness submission, and the live overview's relay between
//! instances.

pub mod alerts;
pub mod journal;
pub mod keys;
pub mod live;
pub mod notify;
pub mod pages;
pub mod visits;
pub mod witnesses;
