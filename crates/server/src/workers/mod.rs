//! Background work that runs beside the server (when `workers = true`) and is driven by tests
//! with a controlled clock: clocks and text delivery, the alert scan, page-view batches, the
//! published-content version and witness submission.

pub mod alerts;
pub mod keys;
pub mod notify;
pub mod pages;
pub mod visits;
pub mod witnesses;
