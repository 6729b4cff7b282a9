//! SMS providers against local fakes that speak each provider's real protocol: the request
//! signing proven by the official Python SDKs (`sdk`), and every kind of failure sorted into
//! retry-later or give-up (`failures`), and no whole phone number in
//! the log or an error text (`logs`).
#![allow(clippy::expect_used, reason = "helpers outside #[test] functions; a failed step fails the test")]

mod failures;
mod fake;
mod logs;
mod sdk;
