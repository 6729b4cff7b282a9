//! The platform's outside world, each behind a small interface with a real implementation and a
//! local one for development and tests: attachment storage, SMS delivery and the WeChat
//! official-account protocol.

pub mod attachments;
pub mod sms;
pub mod wechat;

pub use attachments::{
    AttachmentConfig, AttachmentError, AttachmentKind, AttachmentStore, MAX_UPLOAD_BYTES, StoredAttachment, sniff,
};
pub use sms::{SmsConfig, SmsConfigError, SmsError, SmsMessage, SmsProvider, SmsReceipt, SmsSender};
