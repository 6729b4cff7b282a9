//! Personal information at rest: AES-256-GCM encryption and an HMAC-SHA256 blind index.
//!
//! ID numbers, phones and bank accounts are stored only as ciphertext; equality look-ups use
//! the keyed hash, so the database alone reveals neither the value nor whether two rows match
//! a guessed value. The key never appears in `Debug` output.
//!
//! Key rotation: every sealed value begins with [`TAG`] and the 4-byte id of the key that sealed
//! it (values sealed before rotation existed have neither and are opened by trying each key, the
//! AES-GCM tag telling the right one). While a rotation is in progress a [`PiiCipher`] holds two
//! keys: it seals and indexes with the new one, opens with whichever sealed the value, and offers
//! both blind indexes of a value ([`PiiCipher::blind_indexes`], new first) for look-ups. The keys
//! of a cipher can be replaced in place ([`PiiCipher::install`]), so every clone held by a running
//! server follows a rotation.
//!
//! Keyed hashes of secrets that are not personal data (query passwords, device tokens, link and
//! cookie tags: [`PiiCipher::token_tag`]) cannot be recomputed, since the secret is not stored.
//! They use the [`TokenKey`], which a rotation does not change: the index half of the first
//! personal-data key, kept in its own file from the first rotation on.

use std::fmt;
use std::sync::{Arc, RwLock};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use thiserror::Error;

const NONCE_LEN: usize = 12;
/// The first bytes of a sealed value; the sealing key's id follows.
pub const TAG: &[u8; 3] = b"xw1";
const KEY_ID_LEN: usize = 4;

/// Blind-index purposes of personal data: their indexes are recomputed by a rotation.
pub const ID_PURPOSE: &str = "resident_id";
pub const ACCOUNT_PURPOSE: &str = "account";
pub const PHONE_PURPOSE: &str = "phone";

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

    /// The key's public id (8 hex characters), written in front of everything it seals.
    pub fn id(&self) -> String {
        hex::encode(self.id_bytes())
    }

    fn id_bytes(&self) -> [u8; KEY_ID_LEN] {
        use sha2::Digest;
        let mut hash = Sha256::new();
        hash.update(b"xiaowei-pii-key-id\0");
        hash.update(self.enc);
        hash.update(self.mac);
        let digest = hash.finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        id
    }
}

/// The key of [`PiiCipher::token_tag`]; 32 bytes, hex in its file.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn from_hex(s: &str) -> Result<Self, PiiError> {
        let bytes = hex::decode(s.trim()).map_err(|_| PiiError::BadKey)?;
        Ok(Self(bytes.try_into().map_err(|_| PiiError::BadKey)?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl PiiKey {
    /// The token key this key has served as until a rotation: its index half.
    pub fn token_key(&self) -> TokenKey {
        TokenKey(self.mac)
    }
}

impl fmt::Debug for PiiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PiiKey(..)")
    }
}

/// One key ready to use: its id, its AEAD and its index key.
struct Sealer {
    id: [u8; KEY_ID_LEN],
    aead: Aes256Gcm,
    key: PiiKey,
    /// The index key's HMAC state after the key, cloned for each blind index instead of keying
    /// a new one (half the hashing of a 100,000-row import).
    keyed: Hmac<Sha256>,
}

impl Sealer {
    fn new(key: PiiKey) -> Self {
        #[allow(clippy::expect_used)]
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(&key.mac).expect("HMAC accepts keys of any length");
        Self { id: key.id_bytes(), aead: Aes256Gcm::new(&key.enc.into()), key, keyed }
    }

    fn open(&self, nonce_and_body: &[u8]) -> Option<Vec<u8>> {
        if nonce_and_body.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = nonce_and_body.split_at(NONCE_LEN);
        self.aead.decrypt(Nonce::from_slice(nonce), body).ok()
    }

    fn blind_index(&self, purpose: &str, value: &str) -> String {
        let mut mac = self.keyed.clone();
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

fn keyed_hash(key: &[u8; 32], purpose: &str, value: &str) -> String {
    #[allow(clippy::expect_used)]
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(purpose.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The keys in use: the current one, during a rotation the one being replaced, and the token
/// key when it is not the current key's index half.
struct Ring {
    current: Sealer,
    previous: Option<Sealer>,
    tokens: Option<TokenKey>,
}

impl Ring {
    fn keys(&self) -> impl Iterator<Item = &Sealer> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }
}

/// Encrypts, decrypts and blind-indexes personal data with the key ring (one [`PiiKey`], or two
/// during a rotation). Clones share the ring.
#[derive(Clone)]
pub struct PiiCipher {
    ring: Arc<RwLock<Arc<Ring>>>,
}

impl fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PiiCipher(..)")
    }
}

impl PiiCipher {
    pub fn new(key: PiiKey) -> Self {
        Self::with_keys(key, None)
    }

    /// A cipher in the middle of a rotation from `previous` to `current`.
    pub fn rotating(current: PiiKey, previous: PiiKey) -> Self {
        Self::with_keys(current, Some(previous))
    }

    fn with_keys(current: PiiKey, previous: Option<PiiKey>) -> Self {
        Self { ring: Arc::new(RwLock::new(Self::ring_of(current, previous, None))) }
    }

    fn ring_of(current: PiiKey, previous: Option<PiiKey>, tokens: Option<TokenKey>) -> Arc<Ring> {
        let previous = previous.filter(|p| p.id_bytes() != current.id_bytes()).map(Sealer::new);
        Arc::new(Ring { current: Sealer::new(current), previous, tokens })
    }

    /// Replaces the keys of this cipher and of every clone of it; `tokens` is the token key
    /// when it is not `current`'s index half.
    pub fn install(&self, current: PiiKey, previous: Option<PiiKey>, tokens: Option<TokenKey>) {
        let ring = Self::ring_of(current, previous, tokens);
        match self.ring.write() {
            Ok(mut slot) => *slot = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
    }

    fn ring(&self) -> Arc<Ring> {
        match self.ring.read() {
            Ok(ring) => Arc::clone(&ring),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The id of the key that seals and indexes.
    pub fn key_id(&self) -> String {
        hex::encode(self.ring().current.id)
    }

    /// The token key in use.
    pub fn token_key(&self) -> TokenKey {
        let ring = self.ring();
        ring.tokens.clone().unwrap_or_else(|| ring.current.key.token_key())
    }

    /// The keyed hash of a secret that is not personal data (a password, a device token, a link
    /// or cookie tag), under the token key, which rotations leave alone.
    pub fn token_tag(&self, purpose: &str, value: &str) -> String {
        keyed_hash(&self.token_key().0, purpose, value)
    }

    /// The id of the key being rotated away from, during a rotation.
    pub fn previous_key_id(&self) -> Option<String> {
        self.ring().previous.as_ref().map(|p| hex::encode(p.id))
    }

    /// The bytes every value sealed by the current key begins with.
    pub fn sealed_prefix(&self) -> Vec<u8> {
        let mut prefix = TAG.to_vec();
        prefix.extend_from_slice(&self.ring().current.id);
        prefix
    }

    /// Whether `sealed` was sealed by the current key.
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed.starts_with(&self.sealed_prefix())
    }

    /// `TAG || key id || nonce || ciphertext+tag`, a fresh random nonce each time.
    pub fn encrypt(&self, plaintext: &str) -> Vec<u8> {
        self.encrypt_bytes(plaintext.as_bytes())
    }

    /// Encrypts arbitrary bytes (a staged upload) the same way as [`PiiCipher::encrypt`].
    pub fn encrypt_bytes(&self, plaintext: &[u8]) -> Vec<u8> {
        let ring = self.ring();
        let mut nonce = [0u8; NONCE_LEN];
        // The thread's CSPRNG (reseeded from the OS), not a system call per nonce.
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = TAG.to_vec();
        out.extend_from_slice(&ring.current.id);
        out.extend_from_slice(&nonce);
        // AES-GCM encryption of an in-memory buffer cannot fail for inputs below 64 GiB.
        let sealed = ring.current.aead.encrypt(Nonce::from_slice(&nonce), plaintext).unwrap_or_default();
        out.extend_from_slice(&sealed);
        out
    }

    pub fn decrypt(&self, sealed: &[u8]) -> Result<String, PiiError> {
        String::from_utf8(self.decrypt_bytes(sealed)?).map_err(|_| PiiError::Undecryptable)
    }

    /// Opens a value sealed by any key of the ring: by the key its id names, else (a value
    /// sealed before values carried an id) by whichever key authenticates it.
    pub fn decrypt_bytes(&self, sealed: &[u8]) -> Result<Vec<u8>, PiiError> {
        let ring = self.ring();
        if let Some(rest) = sealed.strip_prefix(TAG.as_slice())
            && rest.len() >= KEY_ID_LEN
            && let Some(key) = ring.keys().find(|k| k.id == rest[..KEY_ID_LEN])
            && let Some(plain) = key.open(&rest[KEY_ID_LEN..])
        {
            return Ok(plain);
        }
        ring.keys().find_map(|k| k.open(sealed)).ok_or(PiiError::Undecryptable)
    }

    /// The keyed hash used to find rows by value, under the current key. `purpose` separates
    /// kinds (an ID and a phone with the same digits hash differently).
    pub fn blind_index(&self, purpose: &str, value: &str) -> String {
        self.ring().current.blind_index(purpose, value)
    }

    /// Every blind index a stored row may hold for `value`: the current key's first, then
    /// during a rotation the previous key's.
    pub fn blind_indexes(&self, purpose: &str, value: &str) -> Vec<String> {
        self.ring().keys().map(|k| k.blind_index(purpose, value)).collect()
    }

    /// Whether `stored` is a blind index of `value` under any key of the ring.
    pub fn index_matches(&self, purpose: &str, value: &str, stored: &str) -> bool {
        self.ring().keys().any(|k| k.blind_index(purpose, value) == stored)
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
    fn the_prepared_index_key_hashes_exactly_as_a_fresh_one() {
        let key = PiiKey::generate();
        let mac = key.mac;
        let c = PiiCipher::new(key);
        for value in ["620922198001011234", "", "6228480000000000000"] {
            assert_eq!(c.blind_index("id", value), keyed_hash(&mac, "id", value));
        }
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

    #[test]
    fn sealed_values_name_their_key() {
        let key = PiiKey::generate();
        let c = PiiCipher::new(key.clone());
        let sealed = c.encrypt("13900001111");
        assert!(sealed.starts_with(TAG) && c.is_current(&sealed));
        assert_eq!(hex::encode(&sealed[TAG.len()..TAG.len() + KEY_ID_LEN]), key.id());
        assert_eq!(c.key_id(), key.id());
    }

    #[test]
    fn a_value_sealed_before_key_ids_still_opens() {
        let key = PiiKey::generate();
        let aead = Aes256Gcm::new(&key.enc.into());
        let nonce = [7u8; NONCE_LEN];
        let mut legacy = nonce.to_vec();
        legacy.extend_from_slice(&aead.encrypt(Nonce::from_slice(&nonce), b"620922198001011234".as_slice()).unwrap());
        let old = PiiKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(PiiCipher::new(key).decrypt(&legacy), Ok("620922198001011234".to_owned()));
        let ring = PiiCipher::rotating(PiiKey::generate(), old);
        assert_eq!(ring.decrypt(&legacy), Ok("620922198001011234".to_owned()));
        assert!(!ring.is_current(&legacy));
    }

    #[test]
    fn during_a_rotation_both_keys_open_and_both_indexes_are_offered() {
        let (old, new) = (PiiKey::generate(), PiiKey::generate());
        let before = PiiCipher::new(old.clone());
        let sealed_old = before.encrypt("13900001111");
        let old_index = before.blind_index("phone", "13900001111");
        let shared = before.clone();
        let tag = before.token_tag("kiosk_device", "t");
        assert_eq!(tag, before.blind_index("kiosk_device", "t"), "before any rotation, tokens use the key");
        before.install(new.clone(), Some(old.clone()), Some(old.token_key()));
        assert_eq!(before.token_tag("kiosk_device", "t"), tag, "a rotation keeps the token key");
        assert_eq!(shared.key_id(), new.id(), "clones follow an installed ring");
        assert!(shared.previous_key_id().is_some());
        let sealed_new = shared.encrypt("13900001111");
        assert!(shared.is_current(&sealed_new) && !shared.is_current(&sealed_old));
        assert_eq!(shared.decrypt(&sealed_old), Ok("13900001111".to_owned()));
        assert_eq!(shared.decrypt(&sealed_new), Ok("13900001111".to_owned()));
        let indexes = shared.blind_indexes("phone", "13900001111");
        assert_eq!(indexes.len(), 2);
        assert_eq!(indexes[1], old_index);
        assert_ne!(indexes[0], old_index, "the new key indexes first");
        assert!(shared.index_matches("phone", "13900001111", &old_index));
        shared.install(new, None, Some(old.token_key()));
        assert_eq!(shared.decrypt(&sealed_old), Err(PiiError::Undecryptable), "a retired key opens nothing");
        assert!(!shared.index_matches("phone", "13900001111", &old_index));
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
