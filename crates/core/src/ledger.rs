//! 公开账本 (publication ledger): the pure half of the tamper-evident log of publications.
//!
//! Owns the canonical serialization of a leaf (`LeafText`), the C2SP tlog-tiles paths and entry
//! bundles, signed C2SP checkpoints (Ed25519 signed notes) and the Merkle proofs (RFC 6962
//! hashing, through the `tlog_tiles` crate, a port of Go's `sumdb/tlog`). Never touches the
//! database or the clock: the store decides what goes into a leaf and when.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use thiserror::Error;
pub use tlog_tiles::Error as TlogError;
pub use tlog_tiles::{
    Checkpoint, EMPTY_HASH, Hash, HashReader, check_record, check_tree, prove_record, prove_tree, record_hash,
    stored_hash_index, stored_hashes_for_record_hash, tree_hash,
};

/// The first line of every leaf: names the format, so a later format can be told apart.
pub const LEAF_FORMAT: &str = "xiaowei-ledger-leaf/1";
/// The second format: as the first, plus keyed digests (`<key>_hmac`, see [`AuditKey`]) of
/// details the public must not see, such as a roster's payment accounts.
pub const LEAF_FORMAT_2: &str = "xiaowei-ledger-leaf/2";
/// Tiles are 2^8 = 256 hashes wide (C2SP tlog-tiles).
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (and entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// An entry bundle stores each leaf behind a 16-bit length, so no leaf may be longer.
pub const MAX_LEAF_BYTES: usize = 65_535;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LedgerError {
    #[error("账本记录过长（{0} 字节，上限 65535 字节）")]
    LeafTooLong(usize),
    #[error("账本记录类别无效：{0}")]
    BadKind(String),
    #[error("瓦片路径无效")]
    BadTilePath,
    #[error("条目包格式无效")]
    BadBundle,
    #[error("签名密钥无效")]
    BadKey,
    #[error("检查点格式不正确：应为四行以上的签名文本（来源、记录数、根哈希、空行、签名）")]
    MalformedCheckpoint,
    #[error("检查点签名无法用本站公钥验证：它不是本站签发的，或内容已被改动")]
    BadSignature,
    #[error("检查点属于另一个账本（{0}）")]
    OtherLog(String),
}

/// Builds the canonical text of one leaf. Lines are `key=value` in the order the builder is
/// called; values escape `\` as `\\`, newline as `\n` and carriage return as `\r`, so every field
/// is one line. The header is fixed: format, kind, object, version, event, org, time (UTC, RFC
/// 3339 seconds). Bulky lists (roster entries, finance lines, procedure steps) enter as the
/// SHA-256 of their own canonical lines (`digest`), so a leaf stays small.
#[derive(Debug, Clone)]
pub struct LeafText {
    text: String,
    rows: DigestedRows,
}

/// The rows behind each digest of a leaf, by digest key (`entries`, `lines`, `steps`, …), cells
/// unescaped: what a public page publishes as its machine-readable copy, from which anyone can
/// recompute the leaf's `*_sha256` fields.
pub type DigestedRows = Vec<(String, Vec<Vec<String>>)>;

impl LeafText {
    /// Starts a leaf. `kind` is lowercase ASCII letters and `_` (e.g. `roster`, `service_item`).
    pub fn new(
        kind: &str,
        object_id: i64,
        version: i64,
        event: &str,
        org_code: Option<&str>,
        at: i64,
    ) -> Result<Self, LedgerError> {
        for word in [kind, event] {
            if word.is_empty() || !word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(LedgerError::BadKind(word.to_owned()));
            }
        }
        let mut leaf = Self { text: format!("{LEAF_FORMAT}\n"), rows: Vec::new() };
        leaf.field("kind", kind);
        leaf.field("object", object_id);
        leaf.field("version", version);
        leaf.field("event", event);
        leaf.field("org", org_code.unwrap_or(""));
        leaf.field("time", utc_time(at));
        Ok(leaf)
    }

    /// Appends `key=value` (the key is ASCII; the value is escaped onto one line).
    pub fn field(&mut self, key: &str, value: impl std::fmt::Display) -> &mut Self {
        let _ = writeln!(self.text, "{key}={}", escape(&value.to_string()));
        self
    }

    /// Appends an optional field, empty when absent.
    pub fn opt(&mut self, key: &str, value: Option<impl std::fmt::Display>) -> &mut Self {
        match value {
            Some(v) => self.field(key, v),
            None => self.field(key, ""),
        }
    }

    /// Appends `key_sha256=<hex>`: the SHA-256 of `rows`, each row being its cells escaped and
    /// joined by a tab, ended by a newline.
    pub fn digest<R, C>(&mut self, key: &str, rows: R) -> &mut Self
    where
        R: IntoIterator<Item = C>,
        C: IntoIterator<Item = String>,
    {
        let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.into_iter().collect()).collect();
        let digest = rows_digest(rows.iter().map(|r| r.iter().cloned()));
        self.rows.push((key.to_owned(), rows));
        self.field(&format!("{key}_sha256"), digest)
    }

    /// Switches the header to [`LEAF_FORMAT_2`] (call before any keyed digest).
    pub fn format_2(&mut self) -> &mut Self {
        self.text = self.text.replacen(LEAF_FORMAT, LEAF_FORMAT_2, 1);
        self
    }

    /// Appends `key_hmac=<hex>`: the HMAC-SHA256 under the audit key of `rows`, canonical as
    /// for [`LeafText::digest`]. The rows are not kept for the page's copy: they are private.
    pub fn keyed<R, C>(&mut self, audit: &AuditKey, key: &str, rows: R) -> &mut Self
    where
        R: IntoIterator<Item = C>,
        C: IntoIterator<Item = String>,
    {
        let mac = audit.rows_mac(rows);
        self.field(&format!("{key}_hmac"), mac)
    }

    /// The finished canonical bytes.
    pub fn finish(self) -> Result<Vec<u8>, LedgerError> {
        self.finish_with_rows().map(|(bytes, _)| bytes)
    }

    /// The finished canonical bytes and the rows behind its digests.
    pub fn finish_with_rows(self) -> Result<(Vec<u8>, DigestedRows), LedgerError> {
        if self.text.len() > MAX_LEAF_BYTES {
            return Err(LedgerError::LeafTooLong(self.text.len()));
        }
        Ok((self.text.into_bytes(), self.rows))
    }
}

/// The SHA-256 (hex) of rows of cells, as [`LeafText::digest`] computes it.
pub fn rows_digest<R, C>(rows: R) -> String
where
    R: IntoIterator<Item = C>,
    C: IntoIterator<Item = String>,
{
    let mut hash = Sha256::new();
    for row in rows {
        hash.update(canonical_row(row).as_bytes());
    }
    hex::encode(hash.finalize())
}

/// One row: its cells escaped (and tab as `\t`), joined by a tab, ended by a newline.
fn canonical_row<C: IntoIterator<Item = String>>(row: C) -> String {
    let cells: Vec<String> = row.into_iter().map(|c| escape(&c).replace('\t', "\\t")).collect();
    format!("{}\n", cells.join("\t"))
}

/// 账本审计密钥 (ledger audit key): the HMAC-SHA256 key under which a roster leaf covers each
/// row's payment account and ID blind indexes. Held by the server (to write leaves) and by the
/// county discipline commission (to run `xiaowei ledger verify`), never published, unrelated to
/// the public signing key. 32 random bytes, hex in its file.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(…)")
    }
}

impl AuditKey {
    pub fn generate() -> Self {
        use rand::RngCore as _;
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(key)
    }

    pub fn from_hex(text: &str) -> Result<Self, LedgerError> {
        let bytes = hex::decode(text.trim()).map_err(|_| LedgerError::BadKey)?;
        Ok(Self(bytes.try_into().map_err(|_| LedgerError::BadKey)?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// HMAC-SHA256 (hex) of canonical rows.
    pub fn rows_mac<R, C>(&self, rows: R) -> String
    where
        R: IntoIterator<Item = C>,
        C: IntoIterator<Item = String>,
    {
        use hmac::Mac as _;
        #[allow(clippy::expect_used)]
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        for row in rows {
            mac.update(canonical_row(row).as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// `2026-01-01T00:00:00Z`.
pub fn utc_time(at: i64) -> String {
    jiff::Timestamp::from_second(at).map(|t| t.to_string()).unwrap_or_else(|_| at.to_string())
}

/// The RFC 6962 leaf hash of a leaf: SHA-256(0x00 || bytes).
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    record_hash(bytes)
}

/// Hex of a hash (the form shown on pages).
pub fn hash_hex(h: &Hash) -> String {
    hex::encode(h.0)
}

/// A hash from its 64 hex characters.
pub fn hash_from_hex(s: &str) -> Option<Hash> {
    let bytes = hex::decode(s.trim()).ok()?;
    Some(Hash(bytes.try_into().ok()?))
}

/// A hash from stored bytes.
pub fn hash_from_bytes(bytes: &[u8]) -> Option<Hash> {
    Some(Hash(bytes.try_into().ok()?))
}

// ---------------------------------------------------------------------------------------------
// C2SP tlog-tiles paths and entry bundles.

/// A resource of the tiled log, as named under `tile/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    /// `tile/<L>/<N>[.p/<W>]`: hashes at level `8·L`.
    Hashes { level: u8, index: u64, width: u32 },
    /// `tile/entries/<N>[.p/<W>]`: the leaves themselves.
    Entries { index: u64, width: u32 },
}

impl TilePath {
    /// Parses the part after `tile/`, strictly (only the canonical spelling is accepted).
    pub fn parse(path: &str) -> Result<Self, LedgerError> {
        let (head, rest) = path.split_once('/').ok_or(LedgerError::BadTilePath)?;
        let (index, width) = parse_index(rest)?;
        let tile = if head == "entries" {
            TilePath::Entries { index, width }
        } else {
            if head.is_empty() || head.len() > 2 || !head.bytes().all(|b| b.is_ascii_digit()) {
                return Err(LedgerError::BadTilePath);
            }
            let level: u8 = head.parse().map_err(|_| LedgerError::BadTilePath)?;
            if level > 63 || (head.len() > 1 && head.starts_with('0')) {
                return Err(LedgerError::BadTilePath);
            }
            TilePath::Hashes { level, index, width }
        };
        if tile.to_path() != format!("tile/{path}") {
            return Err(LedgerError::BadTilePath);
        }
        Ok(tile)
    }

    /// `tile/…`, the canonical path.
    pub fn to_path(&self) -> String {
        let (head, index, width) = match self {
            TilePath::Hashes { level, index, width } => (level.to_string(), *index, *width),
            TilePath::Entries { index, width } => ("entries".to_owned(), *index, *width),
        };
        let mut n = index;
        let mut text = format!("{:03}", n % 1000);
        while n >= 1000 {
            n /= 1000;
            text = format!("x{:03}/{text}", n % 1000);
        }
        let partial = if u64::from(width) == TILE_WIDTH { String::new() } else { format!(".p/{width}") };
        format!("tile/{head}/{text}{partial}")
    }

    /// The width: 256 for a full tile.
    pub fn width(&self) -> u32 {
        match self {
            TilePath::Hashes { width, .. } | TilePath::Entries { width, .. } => *width,
        }
    }

    /// Whether this tile exists in a tree of `size` leaves (a partial tile of any width up to
    /// what the tree holds, since hashes never change once written).
    pub fn exists_in(&self, size: u64) -> bool {
        let (level, index) = match self {
            TilePath::Hashes { level, index, .. } => (*level, *index),
            TilePath::Entries { index, .. } => (0, *index),
        };
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        let available = if shift >= 64 { 0 } else { size >> shift };
        index
            .checked_mul(TILE_WIDTH)
            .and_then(|s| s.checked_add(u64::from(self.width())))
            .is_some_and(|end| end <= available)
    }
}

fn parse_index(rest: &str) -> Result<(u64, u32), LedgerError> {
    let (digits, width) = match rest.split_once(".p/") {
        Some((digits, w)) => {
            if w.is_empty() || w.len() > 3 || !w.bytes().all(|b| b.is_ascii_digit()) {
                return Err(LedgerError::BadTilePath);
            }
            let w: u32 = w.parse().map_err(|_| LedgerError::BadTilePath)?;
            if w == 0 || u64::from(w) >= TILE_WIDTH {
                return Err(LedgerError::BadTilePath);
            }
            (digits, w)
        }
        None => (rest, 256),
    };
    let parts: Vec<&str> = digits.split('/').collect();
    if parts.is_empty() || parts.len() > 7 {
        return Err(LedgerError::BadTilePath);
    }
    let mut n: u64 = 0;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let body = if last { *part } else { part.strip_prefix('x').ok_or(LedgerError::BadTilePath)? };
        if body.len() != 3 || !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LedgerError::BadTilePath);
        }
        let v: u64 = body.parse().map_err(|_| LedgerError::BadTilePath)?;
        n = n.checked_mul(1000).and_then(|n| n.checked_add(v)).ok_or(LedgerError::BadTilePath)?;
    }
    Ok((n, width))
}

/// Index of the stored hashes a hash tile lists, in order.
pub fn tile_hash_indexes(level: u8, index: u64, width: u32) -> Vec<u64> {
    let start = index * TILE_WIDTH;
    (0..u64::from(width)).map(|i| stored_hash_index(level * TILE_HEIGHT, start + i)).collect()
}

/// An entry bundle: each leaf as a big-endian 16-bit length and its bytes.
pub fn encode_bundle<'a>(leaves: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, LedgerError> {
    let mut out = Vec::new();
    for leaf in leaves {
        let len = u16::try_from(leaf.len()).map_err(|_| LedgerError::LeafTooLong(leaf.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(leaf);
    }
    Ok(out)
}

/// The leaves of an entry bundle.
pub fn decode_bundle(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, LedgerError> {
    let mut leaves = Vec::new();
    while !bytes.is_empty() {
        let [a, b, rest @ ..] = bytes else { return Err(LedgerError::BadBundle) };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if rest.len() < len {
            return Err(LedgerError::BadBundle);
        }
        leaves.push(rest[..len].to_vec());
        bytes = &rest[len..];
    }
    Ok(leaves)
}

// ---------------------------------------------------------------------------------------------
// Hash reading: the tlog functions ask for stored hashes by index in one call; the store answers
// from the database, which cannot be reached from a synchronous trait. `HashCache` remembers
// what was asked and missing, so the caller fetches exactly those and calls again.

/// Stored hashes known so far, and those a computation asked for and did not find.
#[derive(Debug, Default)]
pub struct HashCache {
    known: Mutex<HashMap<u64, Hash>>,
    missing: Mutex<BTreeSet<u64>>,
}

impl HashCache {
    pub fn insert(&self, index: u64, hash: Hash) {
        if let Ok(mut known) = self.known.lock() {
            known.insert(index, hash);
        }
    }

    /// The indexes asked for and missing since the last call (and forgets them).
    pub fn take_missing(&self) -> Vec<u64> {
        self.missing.lock().map(|mut m| std::mem::take(&mut *m).into_iter().collect()).unwrap_or_default()
    }
}

impl HashReader for HashCache {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        let known = self.known.lock().map_err(|_| tlog_tiles::Error::InvalidInput("lock".into()))?;
        let mut out = Vec::with_capacity(indexes.len());
        let mut missing = Vec::new();
        for i in indexes {
            match known.get(i) {
                Some(h) => out.push(*h),
                None => missing.push(*i),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        if let Ok(mut m) = self.missing.lock() {
            m.extend(missing);
        }
        Err(tlog_tiles::Error::InvalidInput("hashes not loaded".into()))
    }
}

// ---------------------------------------------------------------------------------------------
// Signed checkpoints (C2SP tlog-checkpoint over C2SP signed-note, Ed25519).

/// The log's signing key: its origin (the key name) and the Ed25519 signer.
pub struct LogKey {
    signer: StandardSigner,
    origin: String,
    vkey: String,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKey").field("origin", &self.origin).field("vkey", &self.vkey).finish_non_exhaustive()
    }
}

impl LogKey {
    /// A new key for `origin` (a schema-less URL, e.g. `xw.example.cn/ledger`); returns the
    /// private key text (`PRIVATE+KEY+…`, to keep secret) with it.
    pub fn generate(origin: &str) -> Result<(String, Self), LedgerError> {
        if !signed_note::is_key_name_valid(origin) {
            return Err(LedgerError::BadKey);
        }
        let (skey, _) = signed_note::generate_key(&mut rand::rngs::OsRng, origin);
        let key = Self::from_private(&skey)?;
        Ok((skey, key))
    }

    /// A key from its private key text.
    pub fn from_private(skey: &str) -> Result<Self, LedgerError> {
        let skey = skey.trim();
        let signer = StandardSigner::new(skey).map_err(|_| LedgerError::BadKey)?;
        let mut parts = skey.splitn(5, '+');
        let (Some("PRIVATE"), Some("KEY"), Some(name), Some(_), Some(key64)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LedgerError::BadKey);
        };
        let raw = base64_decode(key64).ok_or(LedgerError::BadKey)?;
        let seed: [u8; 32] = raw.get(1..).and_then(|s| s.try_into().ok()).ok_or(LedgerError::BadKey)?;
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        let vkey = signed_note::new_ed25519_verifier_key(name, &public);
        Ok(Self { signer, origin: name.to_owned(), vkey })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The public verifier key (`<origin>+<id>+<base64>`), shown on the site.
    pub fn vkey(&self) -> &str {
        &self.vkey
    }

    /// The signed checkpoint text for a tree of `size` leaves with root `root`.
    pub fn sign_checkpoint(&self, size: u64, root: Hash) -> Result<String, LedgerError> {
        let body = Checkpoint::new(&self.origin, size, root, "").map_err(|_| LedgerError::MalformedCheckpoint)?;
        let mut note = Note::new(&body.to_bytes(), &[]).map_err(|_| LedgerError::MalformedCheckpoint)?;
        note.add_sigs(&[&self.signer]).map_err(|_| LedgerError::BadKey)?;
        String::from_utf8(note.to_bytes()).map_err(|_| LedgerError::MalformedCheckpoint)
    }
}

/// Verifies a signed checkpoint (as pasted: CRLF and surrounding blank space are tolerated)
/// against the log's public key and returns its body.
pub fn open_checkpoint(text: &str, vkey: &str) -> Result<Checkpoint, LedgerError> {
    let mut text = text.replace("\r\n", "\n").trim().to_owned();
    text.push('\n');
    let note = Note::from_bytes(text.as_bytes()).map_err(|_| LedgerError::MalformedCheckpoint)?;
    let body = Checkpoint::from_bytes(note.text()).map_err(|_| LedgerError::MalformedCheckpoint)?;
    let verifier = StandardVerifier::new(vkey).map_err(|_| LedgerError::BadKey)?;
    let origin = signed_note::Verifier::name(&verifier).to_owned();
    if body.origin() != origin {
        return Err(LedgerError::OtherLog(body.origin().to_owned()));
    }
    note.verify(&VerifierList::new(vec![Box::new(verifier)])).map_err(|_| LedgerError::BadSignature)?;
    Ok(body)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Base64 (standard, padded) of a hash, as in checkpoints.
pub fn hash_base64(h: &Hash) -> String {
    h.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_keyed_digest_changes_with_the_account_and_the_key() {
        let key = AuditKey::generate();
        let rows = |account: &str| vec![vec!["1".to_owned(), "idx-a".to_owned(), account.to_owned()]];
        let mac = key.rows_mac(rows("acct-1"));
        assert_eq!(mac, key.rows_mac(rows("acct-1")));
        assert_ne!(mac, key.rows_mac(rows("acct-2")));
        assert_ne!(mac, AuditKey::generate().rows_mac(rows("acct-1")));
        assert_eq!(AuditKey::from_hex(&key.to_hex()).unwrap(), key);
        assert!(AuditKey::from_hex("abcd").is_err());
    }

    #[test]
    fn a_format_2_leaf_names_its_format_and_keeps_keyed_rows_private() {
        let key = AuditKey::generate();
        let mut leaf = LeafText::new("roster", 1, 1, "publish", None, 0).unwrap();
        leaf.format_2().digest("entries", [vec!["1".to_owned()]]).keyed(&key, "accounts", [vec!["secret".to_owned()]]);
        let (bytes, rows) = leaf.finish_with_rows().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("xiaowei-ledger-leaf/2\n"), "{text}");
        assert!(text.contains("accounts_hmac="));
        assert_eq!(rows.len(), 1, "only the public digest's rows are kept for the page");
    }

    /// Appends `n` leaves to an in-memory stored-hash table, the way the store does.
    fn build(n: u64) -> (HashCache, Vec<Hash>) {
        let cache = HashCache::default();
        let mut leaves = Vec::new();
        for i in 0..n {
            let h = leaf_hash(format!("leaf {i}").as_bytes());
            leaves.push(h);
            let hashes = stored_hashes_for_record_hash(i, h, &cache).unwrap();
            let base = stored_hash_index(0, i);
            for (k, h) in hashes.into_iter().enumerate() {
                cache.insert(base + k as u64, h);
            }
        }
        (cache, leaves)
    }

    /// RFC 6962 §2.1 MTH, written out independently of the crate.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Hash(Sha256::digest(b"").into()),
            1 => leaves[0],
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                let mut h = Sha256::new();
                h.update([1u8]);
                h.update(mth(&leaves[..k]).0);
                h.update(mth(&leaves[k..]).0);
                Hash(h.finalize().into())
            }
        }
    }

    #[test]
    fn the_root_matches_rfc_6962_for_every_size_up_to_300() {
        let (cache, leaves) = build(300);
        for n in 0..=300u64 {
            assert_eq!(tree_hash(n, &cache).unwrap(), mth(&leaves[..n as usize]), "size {n}");
        }
    }

    #[test]
    fn every_leaf_is_proved_included_in_every_tree_up_to_70() {
        let (cache, leaves) = build(70);
        for t in 1..=70u64 {
            let root = tree_hash(t, &cache).unwrap();
            for i in 0..t {
                let proof = prove_record(t, i, &cache).unwrap();
                check_record(&proof, t, root, i, leaves[i as usize]).unwrap();
                let wrong = leaf_hash(b"something else");
                assert!(check_record(&proof, t, root, i, wrong).is_err());
            }
        }
    }

    #[test]
    fn every_older_tree_is_proved_consistent_with_every_newer_one_up_to_70() {
        let (cache, leaves) = build(70);
        for t in 1..=70u64 {
            let new_root = tree_hash(t, &cache).unwrap();
            for n in 1..=t {
                let old_root = mth(&leaves[..n as usize]);
                let proof = prove_tree(t, n, &cache).unwrap();
                check_tree(&proof, t, new_root, n, old_root).unwrap();
                if n < t {
                    // A rewritten history (another old root) is caught.
                    let forged = mth(&[leaves[..n as usize - 1].to_vec(), vec![leaf_hash(b"x")]].concat());
                    assert!(check_tree(&proof, t, new_root, n, forged).is_err(), "t={t} n={n}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn inclusion_and_consistency_hold_for_random_sizes(t in 1u64..2000, i_frac in 0.0f64..1.0, n_frac in 0.0f64..1.0) {
            let (cache, leaves) = build(t);
            let i = ((t as f64) * i_frac) as u64 % t;
            let n = 1 + ((t as f64) * n_frac) as u64 % t;
            let root = tree_hash(t, &cache).unwrap();
            prop_assert_eq!(root, mth(&leaves));
            let proof = prove_record(t, i, &cache).unwrap();
            prop_assert!(check_record(&proof, t, root, i, leaves[i as usize]).is_ok());
            let proof = prove_tree(t, n, &cache).unwrap();
            prop_assert!(check_tree(&proof, t, root, n, mth(&leaves[..n as usize])).is_ok());
        }

        #[test]
        fn tile_paths_round_trip(level in 0u8..64, index in any::<u64>(), width in 1u32..=256) {
            for tile in [TilePath::Hashes { level, index, width }, TilePath::Entries { index, width }] {
                let path = tile.to_path();
                prop_assert_eq!(TilePath::parse(path.trim_start_matches("tile/")), Ok(tile));
            }
        }

        #[test]
        fn any_text_is_either_a_tile_path_or_refused_without_panic(text in "\\PC{0,40}") {
            let _ = TilePath::parse(&text);
        }

        #[test]
        fn bundles_round_trip(leaves in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20)) {
            let bundle = encode_bundle(leaves.iter().map(Vec::as_slice)).unwrap();
            prop_assert_eq!(decode_bundle(&bundle).unwrap(), leaves);
        }
    }

    #[test]
    fn tile_paths_follow_the_c2sp_spelling() {
        assert_eq!(TilePath::Hashes { level: 0, index: 1_234_067, width: 256 }.to_path(), "tile/0/x001/x234/067");
        assert_eq!(TilePath::Entries { index: 5, width: 3 }.to_path(), "tile/entries/005.p/3");
        assert_eq!(TilePath::parse("1/000.p/7"), Ok(TilePath::Hashes { level: 1, index: 0, width: 7 }));
        for bad in [
            "0/5",
            "0/000.p/0",
            "0/000.p/256",
            "0/x000/001",
            "64/000",
            "01/000",
            "entries/000.p/",
            "data/000",
            "0/1000",
        ] {
            assert_eq!(TilePath::parse(bad), Err(LedgerError::BadTilePath), "{bad}");
        }
    }

    #[test]
    fn a_tile_exists_only_within_the_tree() {
        let full = TilePath::Hashes { level: 0, index: 0, width: 256 };
        assert!(!full.exists_in(255) && full.exists_in(256));
        let partial = TilePath::Entries { index: 1, width: 4 };
        assert!(partial.exists_in(260) && !partial.exists_in(259));
        assert!(TilePath::Hashes { level: 1, index: 0, width: 1 }.exists_in(256));
        assert!(!TilePath::Hashes { level: 63, index: u64::MAX, width: 256 }.exists_in(u64::MAX));
    }

    #[test]
    fn a_leaf_is_one_line_per_field_with_newlines_escaped() {
        let mut leaf = LeafText::new("roster", 7, 2, "correct", Some("620922100200"), 1_767_196_800).unwrap();
        leaf.field("reason", "第一行\n第二行 \\ 完");
        leaf.digest("entries", [vec!["1".to_owned(), "张三".to_owned()]]);
        let text = String::from_utf8(leaf.finish().unwrap()).unwrap();
        assert!(
            text.starts_with(
                "xiaowei-ledger-leaf/1\nkind=roster\nobject=7\nversion=2\nevent=correct\norg=620922100200\n\
             time=2025-12-31T16:00:00Z\nreason=第一行\\n第二行 \\\\ 完\nentries_sha256="
            ),
            "{text}"
        );
        assert_eq!(text.lines().count(), 9);
        assert!(LeafText::new("Roster", 1, 1, "publish", None, 0).is_err());
    }

    #[test]
    fn a_signed_checkpoint_opens_with_the_public_key_and_not_when_changed() {
        let (skey, key) = LogKey::generate("xw.example.cn/ledger").unwrap();
        let again = LogKey::from_private(&skey).unwrap();
        assert_eq!(again.vkey(), key.vkey());
        let root = leaf_hash(b"x");
        let text = key.sign_checkpoint(5, root).unwrap();
        assert!(text.starts_with("xw.example.cn/ledger\n5\n"), "{text}");
        let body = open_checkpoint(&text.replace('\n', "\r\n"), key.vkey()).unwrap();
        assert_eq!((body.size(), *body.hash()), (5, root));
        let forged = text.replacen("\n5\n", "\n6\n", 1);
        assert_eq!(open_checkpoint(&forged, key.vkey()).unwrap_err(), LedgerError::BadSignature);
        assert_eq!(open_checkpoint("hello", key.vkey()).unwrap_err(), LedgerError::MalformedCheckpoint);
        let (_, other) = LogKey::generate("other.example/log").unwrap();
        let theirs = other.sign_checkpoint(5, root).unwrap();
        assert!(matches!(open_checkpoint(&theirs, key.vkey()), Err(LedgerError::OtherLog(_))));
    }
}
