//! Encryption at rest for patient data: the keyring, authenticated encryption of fields
//! (XChaCha20-Poly1305), keyed blind indexes for exact lookups, and token helpers.
//! This module must never log, print or put into an error message any plaintext or key material.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::{AeadInOut as _, KeyInit as _, Tag, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac as _};
use secrecy::zeroize::Zeroize as _;
use secrecy::{ExposeSecret as _, SecretBox};
use sha2::{Digest as _, Sha256};

/// Length of a master key and of every derived sub-key, in bytes.
const KEY_LEN: usize = 32;
/// Format version written as the first byte of every ciphertext.
const VERSION: u8 = 1;
const ID_LEN: usize = 4;
/// Version byte plus key id; also authenticated as part of the AEAD associated data.
const HEADER_LEN: usize = 1 + ID_LEN;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Number of HMAC output bytes kept in a blind index.
const BLIND_INDEX_LEN: usize = 16;

const LABEL_KEY_ID: &[u8] = b"stride key id";
const LABEL_ENC: &[u8] = b"stride enc v1";
const LABEL_BIDX: &[u8] = b"stride bidx v1";

const KEYRING_HEADER: &str = "# Stride encryption keys: the first encrypts, the rest only decrypt. \
                              Keep this file secret and backed up.";

/// Errors from the keyring and from decryption. Messages never contain key text or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A key in the key text is not standard base64 of exactly 32 bytes (1-based position).
    #[error("encryption key {index} is not base64 of 32 bytes")]
    InvalidKey { index: usize },
    /// The same key appears twice in the key text (1-based positions).
    #[error("encryption key {index} is a duplicate of encryption key {first}")]
    DuplicateKey { index: usize, first: usize },
    /// The key text holds no keys at all.
    #[error("no encryption keys found: expected one base64 key of 32 bytes per line")]
    NoKeys,
    /// The ciphertext names a key that this keyring does not hold.
    #[error("data was encrypted with key {0}, which is not in the keyring")]
    UnknownKey(KeyId),
    /// The ciphertext is too short or has an unknown format version.
    #[error("encrypted data is corrupt: too short or of an unknown format version")]
    Corrupt,
    /// Authentication failed: the ciphertext was altered or is being read in the wrong place.
    #[error("encrypted data failed authentication: it was altered, or it belongs to another field")]
    Tampered,
    /// The data decrypted correctly but is not UTF-8 text.
    #[error("decrypted data is not valid UTF-8 text")]
    NotUtf8,
}

/// Public identifier of a key: the first 4 bytes of HMAC-SHA256(key, "stride key id").
///
/// Stored in clear in every ciphertext so decryption can pick the right key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; ID_LEN]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A 32-byte master key, with its id and the sub-keys derived from it.
///
/// `Debug` shows only the key id.
pub struct Key {
    id: KeyId,
    master: SecretBox<[u8; KEY_LEN]>,
    /// HMAC-SHA256(master, "stride enc v1"): XChaCha20-Poly1305 key.
    enc: SecretBox<[u8; KEY_LEN]>,
    /// HMAC-SHA256(master, "stride bidx v1"): blind index key.
    bidx: SecretBox<[u8; KEY_LEN]>,
}

impl Key {
    /// Generates a new random key.
    ///
    /// # Panics
    /// If the operating system's random number generator fails.
    pub fn generate() -> Key {
        let master = SecretBox::init_with_mut(|bytes: &mut [u8; KEY_LEN]| fill_random(bytes));
        Key::from_secret(master)
    }

    /// Builds a key from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Key {
        Key::from_secret(secret_copy(bytes))
    }

    /// The key's public id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    fn from_secret(master: SecretBox<[u8; KEY_LEN]>) -> Key {
        let mut id_mac = hmac_sha256(master.expose_secret(), &[LABEL_KEY_ID]);
        let id = KeyId([id_mac[0], id_mac[1], id_mac[2], id_mac[3]]);
        id_mac.zeroize();
        let enc = derive(master.expose_secret(), LABEL_ENC);
        let bidx = derive(master.expose_secret(), LABEL_BIDX);
        Key {
            id,
            master,
            enc,
            bidx,
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.enc.expose_secret().into())
    }
}

impl Clone for Key {
    fn clone(&self) -> Key {
        Key {
            id: self.id,
            master: secret_copy(self.master.expose_secret()),
            enc: secret_copy(self.enc.expose_secret()),
            bidx: secret_copy(self.bidx.expose_secret()),
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The clinic's encryption keys. The first key is the current one: it encrypts new data and
/// computes blind indexes. The others are older keys kept only to decrypt during rotation.
///
/// Always holds at least one key. `Debug` shows only key ids.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<Key>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current_id())
            .field("ids", &self.ids())
            .finish()
    }
}

impl Keyring {
    /// A keyring holding one new random key.
    ///
    /// # Panics
    /// If the operating system's random number generator fails.
    pub fn generate() -> Keyring {
        Keyring {
            keys: vec![Key::generate()],
        }
    }

    /// Parses key text: standard base64 keys of 32 bytes each, separated by commas, spaces or
    /// newlines; lines starting with `#` are comments. The first key becomes the current one.
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`], [`CryptoError::DuplicateKey`] or [`CryptoError::NoKeys`];
    /// the messages never repeat the key text.
    pub fn parse(text: &str) -> Result<Keyring, CryptoError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut keys: Vec<Key> = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let tokens = line
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|token| !token.is_empty());
            for token in tokens {
                let index = keys.len() + 1;
                let mut decoded = STANDARD
                    .decode(token)
                    .map_err(|_| CryptoError::InvalidKey { index })?;
                let key = <&[u8; KEY_LEN]>::try_from(decoded.as_slice())
                    .map(Key::from_bytes)
                    .map_err(|_| CryptoError::InvalidKey { index });
                decoded.zeroize();
                let key = key?;
                if let Some(position) = keys.iter().position(|k| k.id == key.id) {
                    return Err(CryptoError::DuplicateKey {
                        index,
                        first: position + 1,
                    });
                }
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(CryptoError::NoKeys);
        }
        Ok(Keyring { keys })
    }

    /// Key text for [`Keyring::parse`]: a comment line, then one base64 key per line, current
    /// key first. The result is secret: store it like the keys themselves.
    pub fn to_text(&self) -> String {
        let mut text = String::with_capacity(KEYRING_HEADER.len() + 1 + self.keys.len() * 45);
        text.push_str(KEYRING_HEADER);
        text.push('\n');
        for key in &self.keys {
            STANDARD.encode_string(key.master.expose_secret(), &mut text);
            text.push('\n');
        }
        text
    }

    /// Id of the current key, which encrypts new data.
    pub fn current_id(&self) -> KeyId {
        self.current().id
    }

    /// Ids of all keys, current first.
    pub fn ids(&self) -> Vec<KeyId> {
        self.keys.iter().map(|key| key.id).collect()
    }

    /// A copy of this keyring with a new random current key; the existing keys stay, for
    /// decryption only. Blind indexes change with the current key and must be recomputed.
    ///
    /// # Panics
    /// If the operating system's random number generator fails.
    pub fn with_new_current(&self) -> Keyring {
        let key = loop {
            let key = Key::generate();
            // A 4-byte id collision is astronomically unlikely, but ids must be unique.
            if self.find(key.id).is_none() {
                break key;
            }
        };
        let mut keys = Vec::with_capacity(self.keys.len() + 1);
        keys.push(key);
        keys.extend(self.keys.iter().cloned());
        Keyring { keys }
    }

    /// A copy of this keyring holding only the current key. Use once all data has been
    /// re-encrypted; data still under an old key then fails with [`CryptoError::UnknownKey`].
    pub fn only_current(&self) -> Keyring {
        Keyring {
            keys: vec![self.current().clone()],
        }
    }

    /// Encrypts with the current key. `aad` names the data's place (e.g. `b"patients.phone"`);
    /// decryption must pass the same value.
    ///
    /// Output: `[version 1][4-byte key id][24-byte nonce][ciphertext][16-byte tag]`.
    ///
    /// # Panics
    /// If the operating system's random number generator fails.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let key = self.current();
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);

        let mut blob = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
        blob.push(VERSION);
        blob.extend_from_slice(&key.id.0);
        let full_aad = full_aad(&blob, aad);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(plaintext);

        let tag = key
            .cipher()
            .encrypt_inout_detached(
                <&XNonce>::from(&nonce),
                &full_aad,
                (&mut blob[HEADER_LEN + NONCE_LEN..]).into(),
            )
            .expect("XChaCha20-Poly1305 accepts any plaintext that fits in memory");
        blob.extend_from_slice(&tag);
        blob
    }

    /// Decrypts a blob from [`Keyring::encrypt`] with the key it names.
    ///
    /// # Errors
    /// [`CryptoError::Corrupt`] for a malformed blob, [`CryptoError::UnknownKey`] when its key
    /// is not in the keyring, [`CryptoError::Tampered`] when authentication fails (altered
    /// data or a different `aad`).
    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let parts = Blob::parse(blob).ok_or(CryptoError::Corrupt)?;
        let key = self
            .find(parts.id)
            .ok_or(CryptoError::UnknownKey(parts.id))?;
        let full_aad = full_aad(parts.header, aad);
        let mut plaintext = parts.ciphertext.to_vec();
        key.cipher()
            .decrypt_inout_detached(
                parts.nonce.into(),
                &full_aad,
                plaintext.as_mut_slice().into(),
                <&Tag>::from(parts.tag),
            )
            .map_err(|_| CryptoError::Tampered)?;
        Ok(plaintext)
    }

    /// [`Keyring::encrypt`] for text.
    pub fn encrypt_str(&self, s: &str, aad: &[u8]) -> Vec<u8> {
        self.encrypt(s.as_bytes(), aad)
    }

    /// [`Keyring::decrypt`] for text.
    ///
    /// # Errors
    /// As [`Keyring::decrypt`], plus [`CryptoError::NotUtf8`].
    pub fn decrypt_string(&self, blob: &[u8], aad: &[u8]) -> Result<String, CryptoError> {
        let plaintext = self.decrypt(blob, aad)?;
        String::from_utf8(plaintext).map_err(|err| {
            let mut bytes = err.into_bytes();
            bytes.zeroize();
            CryptoError::NotUtf8
        })
    }

    /// [`Keyring::encrypt_str`] for optional fields: `None` stays `None`.
    pub fn encrypt_opt(&self, s: Option<&str>, aad: &[u8]) -> Option<Vec<u8>> {
        s.map(|s| self.encrypt_str(s, aad))
    }

    /// [`Keyring::decrypt_string`] for optional fields: `None` stays `None`.
    ///
    /// # Errors
    /// As [`Keyring::decrypt_string`].
    pub fn decrypt_opt(
        &self,
        blob: Option<&[u8]>,
        aad: &[u8],
    ) -> Result<Option<String>, CryptoError> {
        blob.map(|blob| self.decrypt_string(blob, aad)).transpose()
    }

    /// True when the blob is not under the current key (or is not a valid blob at all), so a
    /// rotation job should decrypt and re-encrypt it.
    pub fn needs_reencrypt(&self, blob: &[u8]) -> bool {
        key_id_of(blob) != Some(self.current_id())
    }

    /// Keyed blind index for exact lookups: hex of the first 16 bytes of
    /// HMAC-SHA256(current blind-index key, `domain` || 0x00 || `normalized_value`).
    ///
    /// `domain` keeps kinds of values apart (`"phone"`, `"email"`); callers normalize values
    /// first. Uses the current key only, so indexes must be recomputed after rotation.
    pub fn blind_index(&self, domain: &str, normalized_value: &str) -> String {
        debug_assert!(
            !domain.contains('\0'),
            "blind index domains must not contain NUL"
        );
        let mut mac = hmac_sha256(
            self.current().bidx.expose_secret(),
            &[domain.as_bytes(), &[0], normalized_value.as_bytes()],
        );
        let index = hex::encode(&mac[..BLIND_INDEX_LEN]);
        mac.zeroize();
        index
    }

    fn current(&self) -> &Key {
        // `keys` is never empty: every constructor puts at least one key in it.
        &self.keys[0]
    }

    fn find(&self, id: KeyId) -> Option<&Key> {
        self.keys.iter().find(|key| key.id == id)
    }
}

/// The id of the key a blob was encrypted with, or `None` if it is not a valid blob.
pub fn key_id_of(blob: &[u8]) -> Option<KeyId> {
    Blob::parse(blob).map(|parts| parts.id)
}

/// A random token of `bytes` random bytes, as URL-safe base64 without padding.
///
/// # Panics
/// If the operating system's random number generator fails.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf);
    let token = URL_SAFE_NO_PAD.encode(&buf);
    buf.zeroize();
    token
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Compares two byte strings without stopping early at the first difference. Only the
/// lengths (which are not secret) can end the comparison early.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The parts of a well-formed ciphertext blob.
struct Blob<'a> {
    header: &'a [u8; HEADER_LEN],
    id: KeyId,
    nonce: &'a [u8; NONCE_LEN],
    ciphertext: &'a [u8],
    tag: &'a [u8; TAG_LEN],
}

impl<'a> Blob<'a> {
    fn parse(blob: &'a [u8]) -> Option<Blob<'a>> {
        let (header, rest) = blob.split_first_chunk::<HEADER_LEN>()?;
        let (&version, id) = header.split_first()?;
        if version != VERSION {
            return None;
        }
        let id = KeyId(id.try_into().ok()?);
        let (nonce, rest) = rest.split_first_chunk::<NONCE_LEN>()?;
        let (ciphertext, tag) = rest.split_last_chunk::<TAG_LEN>()?;
        Some(Blob {
            header,
            id,
            nonce,
            ciphertext,
            tag,
        })
    }
}

/// AEAD associated data: the blob header (version and key id), then the caller's `aad`.
fn full_aad(header: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(HEADER_LEN + aad.len());
    full.extend_from_slice(&header[..HEADER_LEN]);
    full.extend_from_slice(aad);
    full
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key).expect("HMAC-SHA256 accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Derives the sub-key HMAC-SHA256(master, label).
fn derive(master: &[u8; KEY_LEN], label: &[u8]) -> SecretBox<[u8; KEY_LEN]> {
    let mut sub = hmac_sha256(master, &[label]);
    let secret = secret_copy(&sub);
    sub.zeroize();
    secret
}

fn secret_copy(bytes: &[u8; KEY_LEN]) -> SecretBox<[u8; KEY_LEN]> {
    SecretBox::init_with_mut(|dst: &mut [u8; KEY_LEN]| dst.copy_from_slice(bytes))
}

fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: &[u8] = b"patients.phone";

    fn assert_no_secret(text: &str, secret: &str) {
        assert!(!text.contains(secret), "{text:?} leaks the key text");
    }

    #[test]
    fn round_trip() {
        let ring = Keyring::generate();
        for plaintext in ["", "a", "+1 555 123 4567", "Zoë Ångström — knee, left"] {
            let blob = ring.encrypt_str(plaintext, AAD);
            assert_eq!(
                blob.len(),
                HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN
            );
            assert_eq!(blob[0], VERSION);
            assert_eq!(key_id_of(&blob), Some(ring.current_id()));
            assert_eq!(ring.decrypt_string(&blob, AAD).unwrap(), plaintext);
        }
        let bytes: Vec<u8> = (0..=255).collect();
        let blob = ring.encrypt(&bytes, b"notes.body");
        assert_eq!(ring.decrypt(&blob, b"notes.body").unwrap(), bytes);
    }

    #[test]
    fn ciphertext_does_not_contain_plaintext() {
        let ring = Keyring::generate();
        let blob = ring.encrypt_str("Jane Doe Jane Doe Jane Doe", AAD);
        assert!(!blob.windows(8).any(|w| w == b"Jane Doe"));
    }

    #[test]
    fn option_helpers() {
        let ring = Keyring::generate();
        assert_eq!(ring.encrypt_opt(None, AAD), None);
        assert_eq!(ring.decrypt_opt(None, AAD).unwrap(), None);
        let blob = ring.encrypt_opt(Some("jane@example.org"), AAD).unwrap();
        assert_eq!(
            ring.decrypt_opt(Some(&blob), AAD).unwrap().as_deref(),
            Some("jane@example.org")
        );
        assert_eq!(
            ring.decrypt_opt(Some(&blob), b"patients.email"),
            Err(CryptoError::Tampered)
        );
    }

    #[test]
    fn non_utf8_plaintext_is_reported() {
        let ring = Keyring::generate();
        let blob = ring.encrypt(&[0xff, 0xfe], AAD);
        assert_eq!(ring.decrypt_string(&blob, AAD), Err(CryptoError::NotUtf8));
    }

    #[test]
    fn wrong_aad_fails() {
        let ring = Keyring::generate();
        let blob = ring.encrypt_str("+15551234567", b"patients.phone");
        assert_eq!(
            ring.decrypt(&blob, b"patients.email"),
            Err(CryptoError::Tampered)
        );
        assert_eq!(ring.decrypt(&blob, b""), Err(CryptoError::Tampered));
    }

    #[test]
    fn tampering_any_authenticated_byte_fails() {
        let ring = Keyring::generate();
        let blob = ring.encrypt_str("Jane Doe", AAD);
        // Nonce, ciphertext and tag bytes: authentication fails.
        for i in HEADER_LEN..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                ring.decrypt(&bad, AAD),
                Err(CryptoError::Tampered),
                "byte {i}"
            );
        }
        // Key id bytes: the key is no longer found.
        let mut bad = blob.clone();
        bad[1] ^= 0x01;
        assert!(matches!(
            ring.decrypt(&bad, AAD),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn malformed_blobs_are_corrupt() {
        let ring = Keyring::generate();
        let blob = ring.encrypt_str("Jane Doe", AAD);
        let mut bad_version = blob.clone();
        bad_version[0] = 2;
        assert_eq!(ring.decrypt(&bad_version, AAD), Err(CryptoError::Corrupt));
        let min = HEADER_LEN + NONCE_LEN + TAG_LEN;
        for len in [0, 1, HEADER_LEN, min - 1] {
            assert_eq!(
                ring.decrypt(&blob[..len], AAD),
                Err(CryptoError::Corrupt),
                "len {len}"
            );
        }
        // Cutting plaintext bytes off a long enough blob breaks the tag instead.
        assert_eq!(
            ring.decrypt(&blob[..blob.len() - 1], AAD),
            Err(CryptoError::Tampered)
        );
        assert!(ring.needs_reencrypt(&blob[..3]));
        assert_eq!(key_id_of(&bad_version), None);
    }

    #[test]
    fn random_nonces_but_stable_blind_indexes() {
        let ring = Keyring::generate();
        let a = ring.encrypt_str("+15551234567", AAD);
        let b = ring.encrypt_str("+15551234567", AAD);
        assert_ne!(a, b);
        assert_ne!(
            a[HEADER_LEN..HEADER_LEN + NONCE_LEN],
            b[HEADER_LEN..HEADER_LEN + NONCE_LEN]
        );
        let ia = ring.blind_index("phone", "+15551234567");
        let ib = ring.blind_index("phone", "+15551234567");
        assert_eq!(ia, ib);
        assert_eq!(ia.len(), BLIND_INDEX_LEN * 2);
        assert!(
            ia.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(ia, ring.blind_index("phone", "+15551234568"));
    }

    #[test]
    fn blind_index_differs_across_domains_and_keyrings() {
        let ring = Keyring::generate();
        assert_ne!(
            ring.blind_index("phone", "5551234"),
            ring.blind_index("email", "5551234")
        );
        // The separator keeps domain and value apart.
        assert_ne!(ring.blind_index("ab", "c"), ring.blind_index("a", "bc"));
        let other = Keyring::generate();
        assert_ne!(
            ring.blind_index("phone", "5551234"),
            other.blind_index("phone", "5551234")
        );
    }

    #[test]
    fn known_answers_pin_the_derivations() {
        let ring = Keyring::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        assert_eq!(ring.current_id().to_string(), "0ee63899");
        assert_eq!(
            ring.blind_index("phone", "+15551234567"),
            "a1e2c4204ea023ed055e7cb9c3fb430f"
        );
    }

    #[test]
    fn rotation() {
        let old = Keyring::generate();
        let old_blob = old.encrypt_str("Jane Doe", AAD);
        assert!(!old.needs_reencrypt(&old_blob));

        let rotated = old.with_new_current();
        assert_ne!(rotated.current_id(), old.current_id());
        assert_eq!(rotated.ids(), vec![rotated.current_id(), old.current_id()]);
        assert_eq!(rotated.decrypt_string(&old_blob, AAD).unwrap(), "Jane Doe");
        assert!(rotated.needs_reencrypt(&old_blob));

        let new_blob = rotated.encrypt_str("Jane Doe", AAD);
        assert_eq!(key_id_of(&new_blob), Some(rotated.current_id()));
        assert!(!rotated.needs_reencrypt(&new_blob));
        // Old keyrings cannot read data under the new key.
        assert_eq!(
            old.decrypt(&new_blob, AAD),
            Err(CryptoError::UnknownKey(rotated.current_id()))
        );
        // Blind indexes follow the current key.
        assert_ne!(
            old.blind_index("phone", "5551234"),
            rotated.blind_index("phone", "5551234")
        );

        let pruned = rotated.only_current();
        assert_eq!(pruned.ids(), vec![rotated.current_id()]);
        assert_eq!(pruned.decrypt_string(&new_blob, AAD).unwrap(), "Jane Doe");
        let err = pruned.decrypt(&old_blob, AAD).unwrap_err();
        assert_eq!(err, CryptoError::UnknownKey(old.current_id()));
        assert_eq!(
            err.to_string(),
            format!(
                "data was encrypted with key {}, which is not in the keyring",
                old.current_id()
            )
        );
    }

    #[test]
    fn text_round_trip() {
        let ring = Keyring::generate().with_new_current().with_new_current();
        let text = ring.to_text();
        assert!(text.starts_with(KEYRING_HEADER));
        assert_eq!(text.lines().count(), 4);
        let parsed = Keyring::parse(&text).unwrap();
        assert_eq!(parsed.ids(), ring.ids());
        assert_eq!(parsed.to_text(), text);
        let blob = ring.encrypt_str("Jane Doe", AAD);
        assert_eq!(parsed.decrypt_string(&blob, AAD).unwrap(), "Jane Doe");
        assert_eq!(
            parsed.blind_index("email", "jane@example.org"),
            ring.blind_index("email", "jane@example.org")
        );
    }

    #[test]
    fn parse_accepts_commas_whitespace_and_comments() {
        let a = Keyring::generate();
        let b = Keyring::generate();
        let c = Keyring::generate();
        let key = |ring: &Keyring| STANDARD.encode(ring.current().master.expose_secret());
        let text = format!(
            "\u{feff}# comment with, commas and AAAA=\n  # indented comment\n\n{} ,{}\t\r\n, {},\n",
            key(&a),
            key(&b),
            key(&c)
        );
        let ring = Keyring::parse(&text).unwrap();
        assert_eq!(
            ring.ids(),
            vec![a.current_id(), b.current_id(), c.current_id()]
        );
    }

    #[test]
    fn parse_rejects_bad_input_without_echoing_it() {
        let good = STANDARD.encode([7u8; 32]);
        let short = STANDARD.encode([7u8; 31]);
        let long = STANDARD.encode([7u8; 33]);
        let cases = [
            ("SuperSecretNotBase64!".to_string(), 1),
            (format!("{good}\n{short}"), 2),
            (format!("{good},{good}x"), 2),
            (format!("{good} {long}"), 2),
            (STANDARD_NO_PAD_TEXT.to_string(), 1),
        ];
        for (text, index) in cases {
            let err = Keyring::parse(&text).unwrap_err();
            assert_eq!(err, CryptoError::InvalidKey { index }, "{text}");
            let message = err.to_string();
            assert_eq!(
                message,
                format!("encryption key {index} is not base64 of 32 bytes")
            );
            for token in text.split([',', ' ', '\n']).filter(|t| !t.is_empty()) {
                assert_no_secret(&message, token);
            }
            assert_no_secret(&format!("{err:?}"), &good);
        }
        assert_eq!(Keyring::parse("").unwrap_err(), CryptoError::NoKeys);
        assert_eq!(
            Keyring::parse("# only a comment\n\n").unwrap_err(),
            CryptoError::NoKeys
        );
        let dup = Keyring::parse(&format!("{good}\n{good}\n")).unwrap_err();
        assert_eq!(dup, CryptoError::DuplicateKey { index: 2, first: 1 });
        assert_no_secret(&dup.to_string(), &good);
    }

    /// A valid key written without `=` padding: standard base64 requires the padding.
    const STANDARD_NO_PAD_TEXT: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc";

    #[test]
    fn debug_output_is_redacted() {
        let ring = Keyring::generate().with_new_current();
        for key in &ring.keys {
            let key_text = STANDARD.encode(key.master.expose_secret());
            let key_hex = hex::encode(key.master.expose_secret());
            for debug in [
                format!("{key:?}"),
                format!("{ring:?}"),
                format!("{ring:#?}"),
            ] {
                assert_no_secret(&debug, &key_text);
                assert_no_secret(&debug, &key_text[..16]);
                assert_no_secret(&debug, &key_hex);
                assert!(debug.contains(&key.id.to_string()), "{debug}");
            }
            let decimal = format!("{:?}", key.master.expose_secret());
            assert_no_secret(&format!("{ring:?}"), &decimal);
        }
    }

    #[test]
    fn key_id_display() {
        let id = KeyId([0x0e, 0xe6, 0x38, 0x99]);
        assert_eq!(id.to_string(), "0ee63899");
        assert_eq!(format!("{id:?}"), "KeyId(0ee63899)");
        let key = Key::from_bytes(&[0; 32]);
        assert_eq!(key.id(), id);
        assert_eq!(key.clone().id(), id);
    }

    #[test]
    fn tokens_and_hashes() {
        let a = random_token(32);
        let b = random_token(32);
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(random_token(0), "");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"token", b"token"));
        assert!(!constant_time_eq(b"token", b"tokem"));
        assert!(!constant_time_eq(b"token", b"Token"));
        assert!(!constant_time_eq(b"token", b"token2"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
