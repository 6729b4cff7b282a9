//! The platform's outside world, each behind a small interface with a real implementation and a
//! local one for development and tests: attachment storage.

pub mod attachments;

pub use attachments::{AttachmentConfig, AttachmentError, AttachmentKind, AttachmentStore, StoredAttachment, sniff};
