//! Callback signatures: SHA-1 over the sorted, concatenated parts (token, timestamp, nonce and,
//! in safe mode, the encrypted message), as lowercase hex.

use sha1::{Digest, Sha1};

/// The signature of `parts`: sorted byte-wise, concatenated, SHA-1, lowercase hex.
pub fn signature(parts: &[&str]) -> String {
    let mut sorted: Vec<&str> = parts.to_vec();
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Whether `given` is the signature of `parts`, compared in constant time.
pub fn signature_matches(given: &str, parts: &[&str]) -> bool {
    let expected = signature(parts);
    let given = given.trim().to_ascii_lowercase();
    if given.len() != expected.len() {
        return false;
    }
    given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The server-address check (服务器地址验证): true when `signature` signs token, timestamp and
/// nonce; the caller then answers with `echostr` unchanged.
pub fn verify_url(token: &str, signature: &str, timestamp: &str, nonce: &str) -> bool {
    signature_matches(signature, &[token, timestamp, nonce])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_are_sorted_before_hashing() {
        assert_eq!(signature(&["b", "a", "c"]), signature(&["a", "b", "c"]));
        // sha1("abc")
        assert_eq!(signature(&["c", "a", "b"]), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn a_wrong_signature_fails_the_url_check() {
        let good = signature(&["tok", "1700000000", "n1"]);
        assert!(verify_url("tok", &good, "1700000000", "n1"));
        assert!(verify_url("tok", &good.to_uppercase(), "1700000000", "n1"));
        assert!(!verify_url("tok", &good, "1700000001", "n1"));
        assert!(!verify_url("other", &good, "1700000000", "n1"));
        assert!(!verify_url("tok", "", "1700000000", "n1"));
    }
}
