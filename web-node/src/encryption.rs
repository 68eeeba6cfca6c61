//! Optional AES-256-GCM encryption applied before chunking.
//!
//! The key is PBKDF2-HMAC-SHA256(passphrase, salt, iterations). Plaintext is cut into
//! segments of `CHUNK_SIZE - 16` bytes so that every ciphertext segment (data + GCM tag) is
//! exactly one 256 KiB chunk: any chunk decrypts on its own, in any order. The nonce of
//! segment `i` is `prefix(7) || u32_be(i) || last(1)` (the STREAM construction), so chunks
//! cannot be reordered, and truncating the file or extending it is detected.
//! A short `key_check` in the manifest tells a wrong passphrase apart from damaged data.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use sha2::{Digest, Sha256};

use crate::CHUNK_SIZE;

pub const TAG_LEN: usize = 16;
/// Plaintext bytes per encrypted chunk.
pub const SEGMENT_LEN: usize = CHUNK_SIZE - TAG_LEN;
/// OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
pub const DEFAULT_ITERATIONS: u32 = 600_000;
/// Refuse absurd work factors from a manifest (a peer could otherwise stall us).
pub const MAX_ITERATIONS: u32 = 10_000_000;

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptionError {
    #[error("wrong passphrase")]
    WrongPassphrase,
    #[error("chunk {0} failed authentication: the data was altered or belongs elsewhere")]
    Tampered(u64),
    #[error("chunk {index} is out of range: the file has {chunks} chunks")]
    NoSuchChunk { index: u64, chunks: u64 },
    #[error("iteration count {0} is outside 1..={MAX_ITERATIONS}")]
    BadIterations(u32),
}

/// What the manifest records about an encrypted file (nothing secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionInfo {
    pub iterations: u32,
    pub salt: [u8; 16],
    pub nonce_prefix: [u8; 7],
    pub plaintext_size: u64,
    pub key_check: [u8; 16],
}

impl EncryptionInfo {
    pub fn segments(&self) -> u64 {
        segments_for(self.plaintext_size)
    }

    pub fn ciphertext_size(&self) -> u64 {
        self.plaintext_size + self.segments() * TAG_LEN as u64
    }
}

/// An empty plaintext still gets one (tag-only) segment so that it is authenticated.
pub fn segments_for(plaintext_size: u64) -> u64 {
    plaintext_size.div_ceil(SEGMENT_LEN as u64).max(1)
}

/// A derived key bound to one file's parameters.
#[derive(Clone)]
pub struct FileCipher {
    cipher: Aes256Gcm,
    info: EncryptionInfo,
}

impl FileCipher {
    /// For a new file: `salt` and `nonce_prefix` must be fresh random bytes (randomness is input).
    pub fn create(
        passphrase: &str,
        iterations: u32,
        salt: [u8; 16],
        nonce_prefix: [u8; 7],
        plaintext_size: u64,
    ) -> Result<Self, EncryptionError> {
        let key = derive_key(passphrase, &salt, iterations)?;
        let info = EncryptionInfo { iterations, salt, nonce_prefix, plaintext_size, key_check: key_check(&key) };
        Ok(Self { cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(key)), info })
    }

    /// For an existing file: checks the passphrase against the manifest's `key_check`.
    pub fn open(passphrase: &str, info: &EncryptionInfo) -> Result<Self, EncryptionError> {
        let key = derive_key(passphrase, &info.salt, info.iterations)?;
        if key_check(&key) != info.key_check {
            return Err(EncryptionError::WrongPassphrase);
        }
        Ok(Self { cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(key)), info: info.clone() })
    }

    pub fn info(&self) -> &EncryptionInfo {
        &self.info
    }

    /// Encrypts plaintext segment `index` (exactly `SEGMENT_LEN` bytes except the last).
    pub fn encrypt_segment(&self, index: u64, plaintext: &[u8]) -> Result<Vec<u8>, EncryptionError> {
        let nonce = self.nonce(index)?;
        self.cipher
            .encrypt(&nonce, plaintext)
            .map_err(|_| EncryptionError::Tampered(index))
    }

    /// Decrypts ciphertext chunk `index`; any change to it, or a chunk from another position,
    /// is an error.
    pub fn decrypt_chunk(&self, index: u64, ciphertext: &[u8]) -> Result<Vec<u8>, EncryptionError> {
        let nonce = self.nonce(index)?;
        self.cipher
            .decrypt(&nonce, ciphertext)
            .map_err(|_| EncryptionError::Tampered(index))
    }

    fn nonce(&self, index: u64) -> Result<Nonce<aes_gcm::aes::cipher::consts::U12>, EncryptionError> {
        let chunks = self.info.segments();
        let counter = u32::try_from(index)
            .ok()
            .filter(|_| index < chunks)
            .ok_or(EncryptionError::NoSuchChunk { index, chunks })?;
        let mut nonce = [0u8; 12];
        nonce[..7].copy_from_slice(&self.info.nonce_prefix);
        nonce[7..11].copy_from_slice(&counter.to_be_bytes());
        nonce[11] = u8::from(index + 1 == chunks);
        Ok(nonce.into())
    }
}

pub(crate) fn derive_key(passphrase: &str, salt: &[u8], iterations: u32) -> Result<[u8; 32], EncryptionError> {
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(EncryptionError::BadIterations(iterations));
    }
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(passphrase.as_bytes(), salt, iterations, &mut key);
    Ok(key)
}

fn key_check(key: &[u8; 32]) -> [u8; 16] {
    let digest = Sha256::new().chain_update(b"chiral key check v1").chain_update(key).finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FAST: u32 = 2; // the work factor is irrelevant to correctness

    fn cipher(size: u64) -> FileCipher {
        FileCipher::create("correct horse", FAST, [7; 16], [9; 7], size).unwrap()
    }

    fn encrypt_all(c: &FileCipher, plain: &[u8]) -> Vec<Vec<u8>> {
        (0..c.info().segments())
            .map(|i| {
                let start = (i as usize * SEGMENT_LEN).min(plain.len());
                let end = (start + SEGMENT_LEN).min(plain.len());
                c.encrypt_segment(i, &plain[start..end]).unwrap()
            })
            .collect()
    }

    #[test]
    fn wrong_passphrase_is_a_clear_error() {
        let c = cipher(10);
        assert_eq!(
            FileCipher::open("wrong", c.info()).err(),
            Some(EncryptionError::WrongPassphrase)
        );
        assert!(FileCipher::open("correct horse", c.info()).is_ok());
    }

    #[test]
    fn chunks_are_exactly_chunk_size() {
        let plain = vec![3u8; SEGMENT_LEN * 2 + 5];
        let c = cipher(plain.len() as u64);
        let chunks = encrypt_all(&c, &plain);
        assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), vec![CHUNK_SIZE, CHUNK_SIZE, 5 + TAG_LEN]);
        assert_eq!(c.info().ciphertext_size(), (CHUNK_SIZE * 2 + 5 + TAG_LEN) as u64);
    }

    #[test]
    fn swapped_or_truncated_chunks_are_detected() {
        let plain = vec![1u8; SEGMENT_LEN * 3];
        let c = cipher(plain.len() as u64);
        let chunks = encrypt_all(&c, &plain);
        assert_eq!(c.decrypt_chunk(0, &chunks[1]), Err(EncryptionError::Tampered(0)));
        // Chunk 1 presented as the last one (truncation) fails: the last flag differs.
        let shorter = FileCipher::open("correct horse", &EncryptionInfo { plaintext_size: (SEGMENT_LEN * 2) as u64, ..c.info().clone() }).unwrap();
        assert_eq!(shorter.decrypt_chunk(1, &chunks[1]), Err(EncryptionError::Tampered(1)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn round_trip_and_tamper_detection(
            len in prop_oneof![0usize..3, SEGMENT_LEN - 1..SEGMENT_LEN + 2, 0usize..3 * SEGMENT_LEN],
            seed in any::<u8>(),
            flip in any::<prop::sample::Index>(),
        ) {
            let plain: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
            let c = cipher(len as u64);
            let chunks = encrypt_all(&c, &plain);
            let reader = FileCipher::open("correct horse", c.info()).unwrap();
            let mut back = Vec::new();
            for (i, chunk) in chunks.iter().enumerate() {
                back.extend(reader.decrypt_chunk(i as u64, chunk).unwrap());
            }
            prop_assert_eq!(&back, &plain);

            let total_bits: usize = chunks.iter().map(|c| c.len() * 8).sum();
            let mut bit = flip.index(total_bits);
            let mut tampered = chunks.clone();
            let mut which = 0;
            while bit >= tampered[which].len() * 8 { bit -= tampered[which].len() * 8; which += 1; }
            tampered[which][bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(reader.decrypt_chunk(which as u64, &tampered[which]), Err(EncryptionError::Tampered(which as u64)));
        }
    }
}
