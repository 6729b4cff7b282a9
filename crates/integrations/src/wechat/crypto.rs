//! Safe-mode message crypto (消息加解密): AES-256-CBC with the 32-byte key decoded from the
//! 43-character EncodingAESKey, the IV its first 16 bytes, PKCS#7 padding to 32-byte blocks.
//! The plaintext is 16 random bytes, the message length (4 bytes, big-endian), the message and
//! the account's appid; decryption checks every one of those strictly.

use aes::Aes256;
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Padding block size used by the platform (not AES's 16).
const PAD_BLOCK: usize = 32;

/// Why a key or an encrypted message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("EncodingAESKey 应为43位字母数字（Base64）")]
    BadKey,
    #[error("密文不是有效的Base64")]
    BadBase64,
    #[error("密文长度无效")]
    BadLength,
    #[error("填充无效")]
    BadPadding,
    #[error("消息长度字段无效")]
    BadFrame,
    #[error("AppID 不匹配")]
    AppIdMismatch,
    #[error("消息不是UTF-8文本")]
    NotUtf8,
}

/// One account's message crypto.
#[derive(Clone)]
pub struct MessageCrypto {
    key: [u8; 32],
    appid: String,
}

impl std::fmt::Debug for MessageCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageCrypto").field("appid", &self.appid).finish_non_exhaustive()
    }
}

impl MessageCrypto {
    /// Builds the crypto from the account's EncodingAESKey (43 characters) and appid.
    pub fn new(encoding_aes_key: &str, appid: &str) -> Result<Self, CryptoError> {
        if encoding_aes_key.len() != 43 || !encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CryptoError::BadKey);
        }
        // The platform's keys are 43 Base64 characters plus an implied '='; the last character
        // may carry non-zero trailing bits, which a strict decoder refuses.
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        );
        let bytes = engine.decode(format!("{encoding_aes_key}=")).map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self { key, appid: appid.to_owned() })
    }

    /// Whether `encoding_aes_key` is usable.
    pub fn valid_key(encoding_aes_key: &str) -> bool {
        Self::new(encoding_aes_key, "").is_ok()
    }

    /// Encrypts `message` with the given 16 random bytes; returns Base64.
    pub fn encrypt_with(&self, message: &str, random: [u8; 16]) -> String {
        let body = message.as_bytes();
        let mut plain = Vec::with_capacity(16 + 4 + body.len() + self.appid.len() + PAD_BLOCK);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
        plain.extend_from_slice(body);
        plain.extend_from_slice(self.appid.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        plain.extend(std::iter::repeat_n(u8::try_from(pad).unwrap_or(32), pad));
        let cipher = Aes256::new(GenericArray::from_slice(&self.key));
        let mut previous = [0u8; 16];
        previous.copy_from_slice(&self.key[..16]);
        for block in plain.chunks_exact_mut(16) {
            for (b, p) in block.iter_mut().zip(previous.iter()) {
                *b ^= p;
            }
            let block = GenericArray::from_mut_slice(block);
            cipher.encrypt_block(block);
            previous.copy_from_slice(block);
        }
        STANDARD.encode(plain)
    }

    /// Encrypts `message` with fresh random bytes.
    pub fn encrypt(&self, message: &str) -> String {
        self.encrypt_with(message, rand::random())
    }

    /// Decrypts a Base64 message and checks padding, length field and appid.
    pub fn decrypt(&self, encrypted: &str) -> Result<String, CryptoError> {
        let mut data = STANDARD.decode(encrypted.trim()).map_err(|_| CryptoError::BadBase64)?;
        if data.len() < PAD_BLOCK || data.len() % 16 != 0 {
            return Err(CryptoError::BadLength);
        }
        let cipher = Aes256::new(GenericArray::from_slice(&self.key));
        let mut previous = [0u8; 16];
        previous.copy_from_slice(&self.key[..16]);
        for block in data.chunks_exact_mut(16) {
            let mut saved = [0u8; 16];
            saved.copy_from_slice(block);
            cipher.decrypt_block(GenericArray::from_mut_slice(block));
            for (b, p) in block.iter_mut().zip(previous.iter()) {
                *b ^= p;
            }
            previous = saved;
        }
        let pad = usize::from(*data.last().ok_or(CryptoError::BadLength)?);
        if pad == 0
            || pad > PAD_BLOCK
            || pad > data.len()
            || !data[data.len() - pad..].iter().all(|&b| usize::from(b) == pad)
        {
            return Err(CryptoError::BadPadding);
        }
        let content = &data[..data.len() - pad];
        if content.len() < 20 {
            return Err(CryptoError::BadFrame);
        }
        let len_bytes: [u8; 4] = content[16..20].try_into().map_err(|_| CryptoError::BadFrame)?;
        let len = usize::try_from(u32::from_be_bytes(len_bytes)).map_err(|_| CryptoError::BadFrame)?;
        let rest = &content[20..];
        if len > rest.len() {
            return Err(CryptoError::BadFrame);
        }
        let (message, appid) = rest.split_at(len);
        if appid != self.appid.as_bytes() {
            return Err(CryptoError::AppIdMismatch);
        }
        String::from_utf8(message.to_vec()).map_err(|_| CryptoError::NotUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn a_message_encrypted_by_wechatpy_decrypts() {
        // WeChatCrypto('tok', KEY, 'wxappid').encrypt_message('<xml><a>1</a></xml>', 'nonce', '123')
        let c = MessageCrypto::new(KEY, "wxappid").unwrap();
        let enc = "ZeMMjbsMvFXw8tZRsTwTee3f73kLF1z0TCCA00OeYvHiQH1sEHTExCX6MmSQGip/pRqIKwAfsdFNYCENoKlB3A==";
        assert_eq!(c.decrypt(enc).unwrap(), "<xml><a>1</a></xml>");
        let other = MessageCrypto::new(KEY, "wxother").unwrap();
        assert_eq!(other.decrypt(enc), Err(CryptoError::AppIdMismatch));
    }

    #[test]
    fn a_key_of_the_wrong_shape_is_refused() {
        assert!(MessageCrypto::new("short", "a").is_err());
        assert!(MessageCrypto::new(&"a".repeat(44), "a").is_err());
        assert!(MessageCrypto::new(&format!("{}+", &KEY[..42]), "a").is_err());
        assert!(MessageCrypto::valid_key(KEY));
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let c = MessageCrypto::new(KEY, "wx").unwrap();
        for bad in ["", "!!!", "AAAA", &STANDARD.encode([0u8; 31]), &STANDARD.encode([7u8; 64])] {
            assert!(c.decrypt(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::wechat::fuzz_cases(2000)))]

        #[test]
        fn encryption_round_trips(msg in "\\PC{0,300}", appid in "[a-z0-9]{0,24}", random in any::<[u8; 16]>()) {
            let c = MessageCrypto::new(KEY, &appid).unwrap();
            let enc = c.encrypt_with(&msg, random);
            prop_assert_eq!(c.decrypt(&enc).unwrap(), msg);
        }

        #[test]
        fn arbitrary_ciphertext_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let c = MessageCrypto::new(KEY, "wx").unwrap();
            let _ = c.decrypt(&STANDARD.encode(&bytes));
        }

        #[test]
        fn a_flipped_bit_never_yields_the_original(msg in "[a-z]{1,80}", at in 0usize..1000, bit in 0u8..8) {
            let c = MessageCrypto::new(KEY, "wxappid").unwrap();
            let mut raw = STANDARD.decode(c.encrypt_with(&msg, [1; 16])).unwrap();
            let i = at % raw.len();
            raw[i] ^= 1 << bit;
            // Flipping a bit of the first block only changes the random prefix, which is never checked.
            if i >= 16 {
                prop_assert_ne!(c.decrypt(&STANDARD.encode(&raw)).ok(), Some(msg));
            }
        }
    }
}
