//! Personal information at rest: AES-256-GCM encryption and an HMAC-SHA256 blind index.
//!
//! ID numbers, phones and bank accounts are stored only as ciphertext; equality look-ups use
//! the keyed hash, so the database alone reveals neither the value nor whether two rows match
//! a guessed value. The key never appears in `Debug` output.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use thiserror::Error;

const NONCE_LEN: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PiiError {
    #[error("密钥格式错误：应为128位十六进制字符")]
    BadKey,
    #[error("个人信息密文已损坏或密钥不匹配")]
    Undecryptable,
}

/// The 64-byte secret: 32 bytes for encryption, 32 for the blind index.
#[derive(Clone)]
pub struct PiiKey {
    enc: [u8; 32],
    mac: [u8; 32],
}

impl PiiKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut rng = rand::rngs::OsRng;
        let mut enc = [0u8; 32];
        let mut mac = [0u8; 32];
        rng.fill_bytes(&mut enc);
        rng.fill_bytes(&mut mac);
        Self { enc, mac }
    }

    /// Reads the 128-hex-character form written by [`PiiKey::to_hex`].
    pub fn from_hex(s: &str) -> Result<Self, PiiError> {
        let bytes = hex::decode(s.trim()).map_err(|_| PiiError::BadKey)?;
        if bytes.len() != 64 {
            return Err(PiiError::BadKey);
        }
        let mut enc = [0u8; 32];
        let mut mac = [0u8; 32];
        enc.copy_from_slice(&bytes[..32]);
        mac.copy_from_slice(&bytes[32..]);
        Ok(Self { enc, mac })
    }

    pub fn to_hex(&self) -> String {
        format!("{}{}", hex::encode(self.enc), hex::encode(self.mac))
    }
}

impl fmt::Debug for PiiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PiiKey(..)")
    }
}

/// Encrypts, decrypts and blind-indexes personal data with one [`PiiKey`].
#[derive(Clone)]
pub struct PiiCipher {
    aead: Aes256Gcm,
    key: PiiKey,
}

impl fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PiiCipher(..)")
    }
}

impl PiiCipher {
    pub fn new(key: PiiKey) -> Self {
        let aead = Aes256Gcm::new(&key.enc.into());
        Self { aead, key }
    }

    /// `nonce || ciphertext+tag`, a fresh random nonce each time.
    pub fn encrypt(&self, plaintext: &str) -> Vec<u8> {
        self.encrypt_bytes(plaintext.as_bytes())
    }

    /// Encrypts arbitrary bytes (a staged upload) the same way as [`PiiCipher::encrypt`].
    pub fn encrypt_bytes(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        // The thread's CSPRNG (reseeded from the OS), not a system call per nonce.
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // AES-GCM encryption of an in-memory buffer cannot fail for inputs below 64 GiB.
        let sealed = self.aead.encrypt(Nonce::from_slice(&nonce), plaintext).unwrap_or_default();
        out.extend_from_slice(&sealed);
        out
    }

    pub fn decrypt(&self, sealed: &[u8]) -> Result<String, PiiError> {
        String::from_utf8(self.decrypt_bytes(sealed)?).map_err(|_| PiiError::Undecryptable)
    }

    pub fn decrypt_bytes(&self, sealed: &[u8]) -> Result<Vec<u8>, PiiError> {
        if sealed.len() < NONCE_LEN {
            return Err(PiiError::Undecryptable);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.aead.decrypt(Nonce::from_slice(nonce), body).map_err(|_| PiiError::Undecryptable)
    }

    /// The keyed hash used to find rows by value. `purpose` separates kinds (an ID and a phone
    /// with the same digits hash differently).
    pub fn blind_index(&self, purpose: &str, value: &str) -> String {
        #[allow(clippy::expect_used)]
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key.mac).expect("HMAC accepts keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_value_decrypts_to_itself() {
        let c = PiiCipher::new(PiiKey::generate());
        let sealed = c.encrypt("620922198001011234");
        assert_eq!(c.decrypt(&sealed), Ok("620922198001011234".to_owned()));
    }

    #[test]
    fn two_encryptions_differ_but_the_blind_index_is_stable() {
        let c = PiiCipher::new(PiiKey::generate());
        assert_ne!(c.encrypt("x"), c.encrypt("x"));
        assert_eq!(c.blind_index("id", "x"), c.blind_index("id", "x"));
        assert_ne!(c.blind_index("id", "x"), c.blind_index("phone", "x"));
    }

    #[test]
    fn another_key_cannot_decrypt() {
        let a = PiiCipher::new(PiiKey::generate());
        let b = PiiCipher::new(PiiKey::generate());
        assert_eq!(b.decrypt(&a.encrypt("secret")), Err(PiiError::Undecryptable));
        assert_eq!(b.decrypt(&[1, 2, 3]), Err(PiiError::Undecryptable));
    }

    #[test]
    fn the_key_round_trips_through_hex_and_never_prints() {
        let k = PiiKey::generate();
        assert_eq!(PiiKey::from_hex(&k.to_hex()).map(|k| k.to_hex()), Ok(k.to_hex()));
        assert_eq!(format!("{k:?}"), "PiiKey(..)");
        assert!(PiiKey::from_hex("abc").is_err());
    }

    proptest! {
        #[test]
        fn ciphertext_never_contains_the_plaintext(s in "[0-9]{18}") {
            let c = PiiCipher::new(PiiKey::from_hex(&"ab".repeat(64)).unwrap_or_else(|_| PiiKey::generate()));
            let sealed = c.encrypt(&s);
            prop_assert!(!sealed.windows(s.len()).any(|w| w == s.as_bytes()));
        }
    }
}
