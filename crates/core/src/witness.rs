//! 见证方 (witness): the pure half of C2SP tlog-witness and tlog-cosignature. Owns the Ed25519
//! cosignature (`cosignature/v1`, signed-note signature type 0x04): the witness's key, the signed
//! message, the signature line and its verifier; and the `add-checkpoint` request: its text, and
//! the witness's decision on it (cosign, or which HTTP refusal the spec prescribes).
//!
//! Never touches a database, the network or the clock: the witness's storage, the compare-and-
//! swap of its latest checkpoint and the timestamp are the caller's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, StandardVerifier, VerifierList};
use thiserror::Error;
use tlog_tiles::{Checkpoint, EMPTY_HASH, Hash, check_tree};

/// The signed-note signature type of timestamped Ed25519 checkpoint cosignatures.
pub const COSIGNATURE_V1: u8 = 0x04;
/// The most consistency proof lines a request may carry (tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;
/// The media type of a 409 answer's body: the witness's latest cosigned size.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";
/// The largest request a witness reads: a checkpoint with a few signatures and 63 hashes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum WitnessError {
    #[error("见证方密钥无效")]
    BadKey,
    #[error("见证方名称无效：不能为空，不能含空格或加号")]
    BadName,
    #[error("副署签名格式不正确")]
    BadCosignature,
}

/// The signed-note key ID of an Ed25519 cosigner: SHA-256(name || 0x0A || 0x04 || key)[:4].
pub fn cosigner_key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut material = vec![COSIGNATURE_V1];
    material.extend_from_slice(key.as_bytes());
    signed_note::key_id(name, &material)
}

/// The message an Ed25519 cosignature signs: `cosignature/v1`, `time <timestamp>`, then the
/// checkpoint's note text (with its final newline, without signatures).
pub fn cosigned_message(body: &[u8], timestamp: u64) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(body);
    msg
}

/// A witness's signing key: its name (a schema-less URL) and the Ed25519 key.
pub struct WitnessKey {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessKey").field("name", &self.name).finish_non_exhaustive()
    }
}

impl WitnessKey {
    /// A new key named `name`; returns its private text (keep secret) with it.
    pub fn generate(name: &str) -> Result<(String, Self), WitnessError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(WitnessError::BadName);
        }
        use rand::RngCore as _;
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let key = Self { name: name.to_owned(), key: SigningKey::from_bytes(&seed) };
        Ok((key.private_text(), key))
    }

    /// `PRIVATE+KEY+<name>+<id>+base64(0x04 || seed)`, the signed-note private key spelling.
    fn private_text(&self) -> String {
        let mut material = vec![COSIGNATURE_V1];
        material.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.key_id(), B64.encode(material))
    }

    /// A key from its private text.
    pub fn from_private(text: &str) -> Result<Self, WitnessError> {
        let mut parts = text.trim().splitn(5, '+');
        let (Some("PRIVATE"), Some("KEY"), Some(name), Some(id), Some(key64)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(WitnessError::BadKey);
        };
        let raw = B64.decode(key64).map_err(|_| WitnessError::BadKey)?;
        let (Some(&COSIGNATURE_V1), Some(seed)) = (raw.first(), raw.get(1..)) else {
            return Err(WitnessError::BadKey);
        };
        let seed: [u8; 32] = seed.try_into().map_err(|_| WitnessError::BadKey)?;
        if !signed_note::is_key_name_valid(name) {
            return Err(WitnessError::BadName);
        }
        let key = Self { name: name.to_owned(), key: SigningKey::from_bytes(&seed) };
        if format!("{:08x}", key.key_id()) != id {
            return Err(WitnessError::BadKey);
        }
        Ok(key)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        cosigner_key_id(&self.name, &self.key.verifying_key())
    }

    /// The public verifier key, `<name>+<id>+base64(0x04 || key)`, which logs and readers
    /// configure.
    pub fn vkey(&self) -> String {
        let mut material = vec![COSIGNATURE_V1];
        material.extend_from_slice(self.key.verifying_key().as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id(), B64.encode(material))
    }

    /// The cosignature line (`— <name> base64(id || timestamp || signature)` and a newline) over
    /// a checkpoint's note text.
    pub fn cosign(&self, body: &[u8], timestamp: u64) -> String {
        let sig = self.key.sign(&cosigned_message(body, timestamp));
        let mut blob = self.key_id().to_be_bytes().to_vec();
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(&sig.to_bytes());
        format!("\u{2014} {} {}\n", self.name, B64.encode(blob))
    }
}

/// Verifies a witness's cosignatures, from its verifier key. Also a `signed_note::Verifier`, so
/// a checkpoint note with cosignature lines can be opened with the witness keys one trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
    vkey: String,
}

impl CosignatureVerifier {
    /// Parses `<name>+<id>+base64(0x04 || key)`: only the first two `+` separate fields, since
    /// base64 may contain `+`.
    pub fn new(vkey: &str) -> Result<Self, WitnessError> {
        let vkey = vkey.trim();
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(WitnessError::BadKey);
        };
        if !signed_note::is_key_name_valid(name) {
            return Err(WitnessError::BadName);
        }
        let raw = B64.decode(key64).map_err(|_| WitnessError::BadKey)?;
        let (Some(&COSIGNATURE_V1), Some(key)) = (raw.first(), raw.get(1..)) else {
            return Err(WitnessError::BadKey);
        };
        let key: [u8; 32] = key.try_into().map_err(|_| WitnessError::BadKey)?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| WitnessError::BadKey)?;
        let want = cosigner_key_id(name, &key);
        if id.len() != 8 || u32::from_str_radix(id, 16).ok() != Some(want) {
            return Err(WitnessError::BadKey);
        }
        Ok(Self { name: name.to_owned(), id: want, key, vkey: vkey.to_owned() })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn vkey(&self) -> &str {
        &self.vkey
    }

    /// Finds this witness's cosignature among note signature lines (`lines`, e.g. an
    /// add-checkpoint answer or the signatures of a served checkpoint) and checks it over the
    /// checkpoint note text `body`. `Ok(Some((timestamp, line)))` when present and valid,
    /// `Ok(None)` when absent, an error when a line with this key's name and ID does not verify.
    pub fn find(&self, body: &[u8], lines: &str) -> Result<Option<Cosignature>, WitnessError> {
        for line in lines.lines() {
            let Ok(sig) = signed_note::Signature::from_bytes(line.trim_end().as_bytes()) else { continue };
            if sig.name() != self.name || sig.id() != self.id {
                continue;
            }
            let timestamp = self.check(body, sig.signature()).ok_or(WitnessError::BadCosignature)?;
            return Ok(Some(Cosignature { timestamp, line: line.trim_end().to_owned() }));
        }
        Ok(None)
    }

    /// The timestamp when `sig` (timestamp || Ed25519 signature) is valid over `body`.
    fn check(&self, body: &[u8], sig: &[u8]) -> Option<u64> {
        let (time, sig) = sig.split_at_checked(8)?;
        let timestamp = u64::from_be_bytes(time.try_into().ok()?);
        let sig = ed25519_dalek::Signature::from_slice(sig).ok()?;
        if timestamp > i64::MAX as u64 {
            return None;
        }
        self.key.verify_strict(&cosigned_message(body, timestamp), &sig).ok()?;
        Some(timestamp)
    }
}

impl signed_note::Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.check(msg, sig).is_some()
    }
}

/// A verified cosignature: its timestamp (POSIX seconds) and its signature line (no newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    pub timestamp: u64,
    pub line: String,
}

// ---------------------------------------------------------------------------------------------
// add-checkpoint (C2SP tlog-witness).

/// The body of `POST <prefix>/add-checkpoint`: the size the client believes the witness holds,
/// a consistency proof from it, and the signed checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The whole signed checkpoint note (text, blank line, signatures).
    pub checkpoint: Vec<u8>,
}

impl AddCheckpoint {
    /// The request body: `old <size>`, one base64 hash per line, a blank line, the checkpoint.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old).into_bytes();
        for h in &self.proof {
            out.extend_from_slice(format!("{h}\n").as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Parses a request body strictly (a malformed one is a 400).
    pub fn parse(body: &[u8]) -> Result<Self, Refusal> {
        let bad = |why: &str| Refusal::BadRequest(why.to_owned());
        if body.len() > MAX_REQUEST_BYTES {
            return Err(bad("request too large"));
        }
        let text = std::str::from_utf8(body).map_err(|_| bad("not UTF-8"))?;
        let (head, checkpoint) = text.split_once("\n\n").ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == &"0" || !n.starts_with('0')))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| bad("the first line must be `old <size>`"))?;
        let proof = lines
            .map(|l| Hash::parse_hash(l).map_err(|_| bad("a proof line is not a base64 hash")))
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(bad("more than 63 proof lines"));
        }
        Ok(Self { old, proof, checkpoint: checkpoint.as_bytes().to_vec() })
    }
}

/// Why a witness does not cosign, each with the HTTP status tlog-witness prescribes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// 400: malformed request, or the old size beyond the checkpoint's.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 403: no valid signature from a key trusted for the origin, or one that fails.
    #[error("checkpoint not signed by a trusted key of its log")]
    Forbidden,
    /// 404: the witness does not follow this origin.
    #[error("unknown log origin")]
    UnknownLog,
    /// 409: the old size is not the witness's latest cosigned size (carried here).
    #[error("old size does not match the latest cosigned size {0}")]
    Conflict(u64),
    /// 422: the proof does not verify, or the checkpoint is otherwise inconsistent.
    #[error("checkpoint inconsistent with the latest cosigned one: {0}")]
    Unprocessable(&'static str),
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Forbidden => 403,
            Self::UnknownLog => 404,
            Self::Conflict(_) => 409,
            Self::Unprocessable(_) => 422,
        }
    }
}

/// The checkpoint's origin, so the witness can look up the log's keys and latest state. A
/// checkpoint that does not parse is a 400.
pub fn origin_of(request: &AddCheckpoint) -> Result<String, Refusal> {
    let note =
        Note::from_bytes(&request.checkpoint).map_err(|_| Refusal::BadRequest("malformed signed note".into()))?;
    let body = Checkpoint::from_bytes(note.text()).map_err(|_| Refusal::BadRequest("malformed checkpoint".into()))?;
    Ok(body.origin().to_owned())
}

/// What the witness cosigns, once [`check_add`] has accepted a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub size: u64,
    pub root: Hash,
    /// The checkpoint's note text, which the cosignature signs.
    pub body: Vec<u8>,
}

/// The witness's decision on a request, in the order tlog-witness gives: the log's signature
/// (404/403), the sizes (400/409), then consistency (422). `log_vkeys` are the signed-note
/// verifier keys the witness trusts for the origin (`None`: unknown origin); `latest` is the
/// size and root of the latest checkpoint it cosigned for that origin (`None`: never).
pub fn check_add(
    request: &AddCheckpoint,
    log_vkeys: Option<&[String]>,
    latest: Option<(u64, Hash)>,
) -> Result<Accepted, Refusal> {
    let note =
        Note::from_bytes(&request.checkpoint).map_err(|_| Refusal::BadRequest("malformed signed note".into()))?;
    let body = Checkpoint::from_bytes(note.text()).map_err(|_| Refusal::BadRequest("malformed checkpoint".into()))?;
    let vkeys = log_vkeys.ok_or(Refusal::UnknownLog)?;
    let mut verifiers: Vec<Box<dyn signed_note::Verifier>> = Vec::new();
    for vkey in vkeys {
        if let Ok(v) = StandardVerifier::new(vkey) {
            verifiers.push(Box::new(v));
        }
    }
    note.verify(&VerifierList::new(verifiers)).map_err(|_| Refusal::Forbidden)?;
    let (size, root) = (body.size(), *body.hash());
    if request.old > size {
        return Err(Refusal::BadRequest("old size larger than the checkpoint size".into()));
    }
    let (latest_size, latest_root) = latest.unwrap_or((0, EMPTY_HASH));
    if request.old != latest_size {
        return Err(Refusal::Conflict(latest_size));
    }
    if size == 0 && root != EMPTY_HASH {
        return Err(Refusal::Unprocessable("an empty tree must have the empty root"));
    }
    if request.old == 0 {
        if !request.proof.is_empty() {
            return Err(Refusal::Unprocessable("a proof from the empty tree must be empty"));
        }
    } else if request.old == size {
        if root != latest_root || !request.proof.is_empty() {
            return Err(Refusal::Unprocessable("same size, different root"));
        }
    } else if check_tree(&request.proof, size, root, request.old, latest_root).is_err() {
        return Err(Refusal::Unprocessable("the consistency proof does not verify"));
    }
    Ok(Accepted { size, root, body: note.text().to_vec() })
}

/// The origin a log's signed-note verifier key (Ed25519) names, if the key is well formed: in
/// this platform the ledger key's name is the log's origin.
pub fn log_origin(vkey: &str) -> Option<String> {
    let verifier = StandardVerifier::new(vkey.trim()).ok()?;
    Some(signed_note::Verifier::name(&verifier).to_owned())
}

/// The size in a 409 answer (`<size>\n`).
pub fn parse_size(body: &str) -> Option<u64> {
    let n = body.strip_suffix('\n').unwrap_or(body);
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// The hex SHA-256 of an origin: the path segment of a witness's monitoring endpoint
/// (`GET <prefix>/<origin hash>/checkpoint`).
pub fn origin_hash(origin: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(origin.as_bytes()))
}

/// The note text (body) of a signed checkpoint: everything before the blank line that precedes
/// the signatures.
pub fn note_body(checkpoint: &str) -> Option<&str> {
    checkpoint.rfind("\n\n").map(|at| &checkpoint[..=at])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{HashCache, LogKey, leaf_hash, prove_tree, stored_hash_index, stored_hashes_for_record_hash};

    /// The cosignature of the RFC 8032 test-1 key named `witness.example/w1` over the spec's
    /// example checkpoint at the spec's example time (Ed25519 is deterministic).
    const KAT_SIGNATURE: &str =
        "63YswgAAAABkGFDL+TPmh4BYuAjsYRoqMJCWb/gWJaeRF/kmm5tlCr9sJ57DLErur7K0yDXc2ArN+TIuotuB/HbuL3AJsp3bv/aNCQ==";

    /// The example cosignature of C2SP tlog-cosignature, over the example checkpoint.
    const SPEC_COSIGNATURE: &str = "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";

    #[test]
    fn the_spec_example_cosignature_carries_the_spec_example_timestamp() {
        // The spec's signed-message example says `time 1679315147`; its cosignature line must
        // hold that timestamp big-endian after the 4-byte key ID, then a 64-byte signature.
        let sig = signed_note::Signature::from_bytes(SPEC_COSIGNATURE.as_bytes()).unwrap();
        assert_eq!(sig.name(), "witness.example.com/w1");
        let blob = sig.signature();
        assert_eq!(blob.len(), 8 + 64);
        assert_eq!(u64::from_be_bytes(blob[..8].try_into().unwrap()), 1_679_315_147);
        assert_eq!(
            cosigned_message(b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", 1_679_315_147),
            b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn a_cosignature_is_an_ed25519_signature_over_the_spec_message_with_a_type_4_key_id() {
        // Known answer from RFC 8032 test 1's key (seed 9d61…7f60): the key ID is computed
        // by hand from SHA-256(name || 0x0A || 0x04 || key) and the signature checked with
        // the raw Ed25519 key over the spelled-out message.
        let seed = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
        let mut private = vec![COSIGNATURE_V1];
        private.extend_from_slice(&seed);
        let public = hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").unwrap();
        let mut preimage = b"witness.example/w1\n\x04".to_vec();
        preimage.extend_from_slice(&public);
        use sha2::Digest as _;
        let id = hex::encode(&sha2::Sha256::digest(&preimage)[..4]);
        let key =
            WitnessKey::from_private(&format!("PRIVATE+KEY+witness.example/w1+{id}+{}", B64.encode(&private))).unwrap();
        let mut vkey_material = vec![4u8];
        vkey_material.extend_from_slice(&public);
        assert_eq!(key.vkey(), format!("witness.example/w1+{id}+{}", B64.encode(&vkey_material)));
        let body = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let line = key.cosign(body, 1_679_315_147);
        // Also the vector the browser test verifies with WebCrypto (tests/browser/ledger-key.test.mjs).
        assert_eq!(key.vkey(), "witness.example/w1+eb762cc2+BNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea");
        assert_eq!(line, format!("\u{2014} witness.example/w1 {KAT_SIGNATURE}\n"));
        let blob = B64.decode(line.trim_end().rsplit(' ').next().unwrap()).unwrap();
        assert_eq!(hex::encode(&blob[..4]), id);
        assert_eq!(&blob[4..12], &1_679_315_147u64.to_be_bytes());
        let raw = VerifyingKey::from_bytes(&public.try_into().unwrap()).unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&blob[12..]).unwrap();
        let mut msg = b"cosignature/v1\ntime 1679315147\n".to_vec();
        msg.extend_from_slice(body);
        raw.verify_strict(&msg, &sig).unwrap();
    }

    #[test]
    fn a_cosignature_verifies_with_the_witness_key_and_not_when_anything_changes() {
        let (private, key) = WitnessKey::generate("jw.example.cn/witness").unwrap();
        assert_eq!(WitnessKey::from_private(&private).unwrap().vkey(), key.vkey());
        let verifier = CosignatureVerifier::new(&key.vkey()).unwrap();
        let body = b"log.example/x\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let line = key.cosign(body, 1_700_000_000);
        let found = verifier.find(body, &line).unwrap().unwrap();
        assert_eq!((found.timestamp, found.line.as_str()), (1_700_000_000, line.trim_end()));
        let other_body = b"log.example/x\n4\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        assert_eq!(verifier.find(other_body, &line), Err(WitnessError::BadCosignature));
        let (_, stranger) = WitnessKey::generate("jw.example.cn/witness").unwrap();
        assert_eq!(verifier.find(body, &stranger.cosign(body, 1)), Ok(None), "another key's line is ignored");
        // A plain Ed25519 signed-note key (type 0x01) is not a cosigner key.
        let (_, log) = LogKey::generate("jw.example.cn/witness").unwrap();
        assert_eq!(CosignatureVerifier::new(log.vkey()), Err(WitnessError::BadKey));
    }

    #[test]
    fn verifier_keys_with_plus_and_slash_in_their_base64_parse() {
        for _ in 0..64 {
            let (_, key) = WitnessKey::generate("w.example/x").unwrap();
            let vkey = key.vkey();
            assert_eq!(CosignatureVerifier::new(&vkey).unwrap().vkey(), vkey);
        }
        assert!(CosignatureVerifier::new("w.example/x+00000000+BAAA").is_err());
        assert!(CosignatureVerifier::new("nonsense").is_err());
    }

    #[test]
    fn a_request_round_trips_and_bad_ones_are_400() {
        let (_, log) = LogKey::generate("log.example/x").unwrap();
        let checkpoint = log.sign_checkpoint(3, leaf_hash(b"a")).unwrap().into_bytes();
        let req = AddCheckpoint { old: 2, proof: vec![leaf_hash(b"p"), leaf_hash(b"q")], checkpoint };
        assert_eq!(AddCheckpoint::parse(&req.to_bytes()).unwrap(), req);
        for bad in ["old 01\n\nx", "old -1\n\nx", "new 1\n\nx", "old 1\nnot-a-hash\n\nx", "old 1\n"] {
            assert!(matches!(AddCheckpoint::parse(bad.as_bytes()), Err(Refusal::BadRequest(_))), "{bad}");
        }
        let many = format!("old 1\n{}\nx", format!("{}\n", leaf_hash(b"p")).repeat(64));
        assert!(matches!(AddCheckpoint::parse(many.as_bytes()), Err(Refusal::BadRequest(_))));
        assert_eq!(parse_size("17\n"), Some(17));
        assert_eq!(parse_size("x\n"), None);
    }

    fn tree(n: u64) -> HashCache {
        let cache = HashCache::default();
        for i in 0..n {
            let hashes = stored_hashes_for_record_hash(i, leaf_hash(format!("leaf {i}").as_bytes()), &cache).unwrap();
            for (k, h) in (0u64..).zip(hashes) {
                cache.insert(stored_hash_index(0, i) + k, h);
            }
        }
        cache
    }

    #[test]
    fn the_witness_decides_as_the_spec_says() {
        let (_, log) = LogKey::generate("log.example/x").unwrap();
        let keys = vec![log.vkey().to_owned()];
        let cache = tree(10);
        let root = |n| crate::ledger::tree_hash(n, &cache).unwrap();
        let signed = |n| log.sign_checkpoint(n, root(n)).unwrap().into_bytes();
        let req = |old, proof, n| AddCheckpoint { old, proof, checkpoint: signed(n) };

        // First contact: old 0, empty proof.
        let ok = check_add(&req(0, vec![], 4), Some(&keys), None).unwrap();
        assert_eq!((ok.size, ok.root), (4, root(4)));
        // A consistent step from 4 to 10.
        let proof = prove_tree(10, 4, &cache).unwrap();
        assert!(check_add(&req(4, proof.clone(), 10), Some(&keys), Some((4, root(4)))).is_ok());
        // Wrong old size: 409 with the witness's size.
        assert_eq!(check_add(&req(3, vec![], 10), Some(&keys), Some((4, root(4)))), Err(Refusal::Conflict(4)));
        // A rewritten history: the witness holds another root for size 4.
        let forged = leaf_hash(b"forged");
        assert_eq!(check_add(&req(4, proof, 10), Some(&keys), Some((4, forged))).unwrap_err().status(), 422);
        // Same size, other root.
        assert_eq!(check_add(&req(4, vec![], 4), Some(&keys), Some((4, forged))).unwrap_err().status(), 422);
        // A proof from the empty tree must be empty.
        assert_eq!(check_add(&req(0, vec![forged], 4), Some(&keys), None).unwrap_err().status(), 422);
        // Old beyond the checkpoint: 400.
        assert_eq!(check_add(&req(11, vec![], 10), Some(&keys), Some((11, forged))).unwrap_err().status(), 400);
        // Unknown origin: 404; another key, or a tampered note: 403.
        assert_eq!(check_add(&req(0, vec![], 4), None, None), Err(Refusal::UnknownLog));
        let (_, other) = LogKey::generate("log.example/x").unwrap();
        assert_eq!(check_add(&req(0, vec![], 4), Some(&[other.vkey().to_owned()]), None), Err(Refusal::Forbidden));
        let mut tampered = req(0, vec![], 4);
        tampered.checkpoint =
            String::from_utf8(tampered.checkpoint).unwrap().replacen("\n4\n", "\n5\n", 1).into_bytes();
        assert_eq!(check_add(&tampered, Some(&keys), None), Err(Refusal::Forbidden));
        // An empty tree with a non-empty root cannot be signed by the log here, so it is left to
        // the rule's own branch: size 0 with the empty root is accepted.
        let empty = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: log.sign_checkpoint(0, EMPTY_HASH).unwrap().into_bytes(),
        };
        assert!(check_add(&empty, Some(&keys), None).is_ok());
    }

    #[test]
    fn a_checkpoint_with_cosignatures_opens_with_the_witness_keys() {
        let (_, log) = LogKey::generate("log.example/x").unwrap();
        let (_, w) = WitnessKey::generate("w.example/1").unwrap();
        let text = log.sign_checkpoint(2, leaf_hash(b"r")).unwrap();
        let body = note_body(&text).unwrap();
        let full = format!("{text}{}", w.cosign(body.as_bytes(), 5));
        let note = Note::from_bytes(full.as_bytes()).unwrap();
        let verifiers: Vec<Box<dyn signed_note::Verifier>> =
            vec![Box::new(CosignatureVerifier::new(&w.vkey()).unwrap())];
        let (verified, unverified) = note.verify(&VerifierList::new(verifiers)).unwrap();
        assert_eq!((verified.len(), unverified.len()), (1, 1));
        assert_eq!(origin_hash("log.example/x").len(), 64);
    }
}
