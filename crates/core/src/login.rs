//! 登录限制: how many staff login attempts a username may take, from one client and from all
//! clients together, within a window. Pure rules: the store counts attempts (claiming each one
//! atomically before the password is checked), the server applies the verdict.
//!
//! The rule: a (username, client address) pair may make [`PER_CLIENT`] attempts per
//! [`WINDOW_SECS`]; a success resets its count and makes the client *known* for [`KNOWN_SECS`].
//! Attempts from clients that are not known to the username also count against a per-username
//! ceiling of [`PER_USERNAME`] per window. So a flood from elsewhere can neither lock the real
//! user out of a client they have logged in from, nor guess more than the ceiling allows.

/// Length of a counting window, in seconds.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Attempts one client may make for one username per window.
pub const PER_CLIENT: i64 = 5;
/// Attempts all unknown clients together may make for one username per window.
pub const PER_USERNAME: i64 = 50;
/// How long a client stays known to a username after a successful login, in seconds.
pub const KNOWN_SECS: i64 = 30 * 86_400;

/// What to do with a login attempt, given the claimed counts (this attempt included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password.
    Check,
    /// This client has used up its attempts for this username.
    TooManyFromClient,
    /// Unknown clients together have used up the username's attempts.
    TooManyForUsername,
}

/// The verdict on the `client_attempts`-th attempt from one client; `username_attempts` is the
/// count against the per-username ceiling, `None` when the client is known to the username (its
/// attempts do not count against the ceiling).
pub fn verdict(client_attempts: i64, username_attempts: Option<i64>) -> Verdict {
    if client_attempts > PER_CLIENT {
        Verdict::TooManyFromClient
    } else if username_attempts.is_some_and(|n| n > PER_USERNAME) {
        Verdict::TooManyForUsername
    } else {
        Verdict::Check
    }
}

/// Whether a client known until `known_until` (0 when never) is known at `now`.
pub fn is_known(known_until: i64, now: i64) -> bool {
    known_until > now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifth_attempt_from_a_client_is_checked_and_the_sixth_refused() {
        assert_eq!(verdict(PER_CLIENT, Some(1)), Verdict::Check);
        assert_eq!(verdict(PER_CLIENT + 1, Some(1)), Verdict::TooManyFromClient);
    }

    #[test]
    fn unknown_clients_together_hit_the_username_ceiling() {
        assert_eq!(verdict(1, Some(PER_USERNAME)), Verdict::Check);
        assert_eq!(verdict(1, Some(PER_USERNAME + 1)), Verdict::TooManyForUsername);
    }

    #[test]
    fn a_known_client_is_not_held_by_the_ceiling_but_still_by_its_own_count() {
        assert_eq!(verdict(1, None), Verdict::Check);
        assert_eq!(verdict(PER_CLIENT + 1, None), Verdict::TooManyFromClient);
    }

    #[test]
    fn a_client_is_known_until_its_time_runs_out() {
        assert!(is_known(100, 99));
        assert!(!is_known(100, 100));
        assert!(!is_known(0, 1));
    }
}
