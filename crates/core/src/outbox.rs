//! A queued notification's channel and delivery state: the outbox's vocabulary, shared by the
//! delivery worker, the staff text log and every use case that queues a text.

/// How a notification reaches its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextChannel {
    /// A text message through the configured SMS provider.
    Sms,
    /// A template message to a WeChat follower; its sealed "phone" is `account:openid`.
    Wechat,
}

impl TextChannel {
    pub const ALL: [Self; 2] = [Self::Sms, Self::Wechat];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Wechat => "wechat",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Where a queued notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Waiting for the delivery worker (new, or retried after a failure).
    Pending,
    /// Claimed by a delivery worker, under a lease.
    Sending,
    /// Accepted by the provider.
    Sent,
    /// Given up after the last attempt; staff may send it again.
    Failed,
}

impl Delivery {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Sending, Self::Sent, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// As the staff text log shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "待发送",
            Self::Sending => "发送中",
            Self::Sent => "已发送",
            Self::Failed => "发送失败",
        }
    }
}

crate::stored_code!(TextChannel, Delivery);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_as_itself() {
        for c in TextChannel::ALL {
            assert_eq!(TextChannel::parse(c.as_str()), Some(c));
        }
        for d in Delivery::ALL {
            assert_eq!(Delivery::parse(d.as_str()), Some(d));
        }
        assert_eq!(Delivery::parse("queued"), None);
    }
}
