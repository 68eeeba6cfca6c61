//! Streaming ingest: bytes in (any slicing), a [`Manifest`] out. Sans-IO.
//!
//! The same state machine runs natively (`ingest_reader`) and in the page
//! (`browser::ingest_file` feeds it `Blob.slice` reads), so both compute identical
//! manifests. Memory stays flat: only the current chunk's hash state (and, when
//! encrypting, one 256 KiB segment) is held, whatever the file size.
//!
//! ```
//! use web_node::ingest::{Ingest, IngestOptions};
//! let mut ingest = Ingest::new(IngestOptions::new("hello.txt", 5)).unwrap();
//! ingest.push(b"hel").unwrap();
//! ingest.push(b"lo").unwrap();
//! let manifest = ingest.finish().unwrap();
//! assert_eq!(manifest.cid_hex(), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
//! ```

use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::ed2k::Ed2kHasher;
use crate::encryption::{EncryptionError, FileCipher, SEGMENT_LEN};
use crate::manifest::{chunk_count, validate_name, Manifest, ManifestError, MAX_CHUNKS};
use crate::merkle::{merkle_root, Hash32};
use crate::torrent;
use crate::CHUNK_SIZE;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    pub name: String,
    /// Exact number of input bytes that will be pushed (the plaintext size when encrypting).
    pub size: u64,
    pub mime: Option<String>,
    /// Seconds since the Unix epoch (time is input: the core never reads a clock).
    pub created_at: u64,
}

impl IngestOptions {
    pub fn new(name: impl Into<String>, size: u64) -> Self {
        Self { name: name.into(), size, mime: None, created_at: 0 }
    }
}

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Encryption(#[from] EncryptionError),
    #[error("the file is too large: {0} bytes (at most 256 GiB per file)")]
    TooLarge(u64),
    #[error("the file grew while it was read: more than the {expected} bytes announced")]
    TooMuchInput { expected: u64 },
    #[error("the file shrank or could not be read to the end: {got} of {expected} bytes")]
    Truncated { expected: u64, got: u64 },
    #[error("the encryption parameters are for {cipher} bytes, the file has {file}")]
    CipherSizeMismatch { cipher: u64, file: u64 },
    #[error("chunk digests were given for {given} chunks, the data holds {expected}")]
    ChunkDigestCount { given: u64, expected: u64 },
    #[error("chunk digests can only be supplied by a plain (unencrypted) ingest made for them")]
    ChunkDigestsNotExpected,
    #[error("with external chunk digests, every read but the last must end on a chunk boundary")]
    UnalignedRead,
}

/// The digests of one stored chunk computed outside the core (in the page: Web Crypto,
/// which hashes on the browser's own threads while wasm hashes the whole file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkDigests {
    pub sha256: Hash32,
    pub sha1: [u8; 20],
}

pub struct Ingest {
    options: IngestOptions,
    cipher: Option<FileCipher>,
    /// Plaintext awaiting encryption (only when encrypting).
    segment: Vec<u8>,
    next_segment: u64,
    consumed: u64,
    stored: StoredHashes,
}

/// Hash state over the stored bytes (ciphertext when encrypted).
#[derive(Default)]
struct StoredHashes {
    file: Sha256,
    ed2k: Ed2kHasher,
    chunk: Sha256,
    piece: Sha1,
    in_chunk: usize,
    size: u64,
    /// Per-chunk digests arrive through `Ingest::add_chunk_digests` instead.
    external_chunk_digests: bool,
    chunk_hashes: Vec<Hash32>,
    piece_hashes: Vec<[u8; 20]>,
}

impl StoredHashes {
    fn absorb(&mut self, mut data: &[u8]) {
        self.file.update(data);
        self.ed2k.update(data);
        self.size += data.len() as u64;
        if self.external_chunk_digests {
            return;
        }
        while !data.is_empty() {
            let take = (CHUNK_SIZE - self.in_chunk).min(data.len());
            self.chunk.update(&data[..take]);
            self.piece.update(&data[..take]);
            self.in_chunk += take;
            data = &data[take..];
            if self.in_chunk == CHUNK_SIZE {
                self.close_chunk();
            }
        }
    }

    fn close_chunk(&mut self) {
        self.chunk_hashes.push(std::mem::take(&mut self.chunk).finalize().into());
        self.piece_hashes.push(std::mem::take(&mut self.piece).finalize().into());
        self.in_chunk = 0;
    }
}

impl Ingest {
    pub fn new(options: IngestOptions) -> Result<Self, IngestError> {
        Self::build(options, None)
    }

    /// Encrypts while ingesting; the manifest then describes the ciphertext.
    pub fn encrypted(options: IngestOptions, cipher: FileCipher) -> Result<Self, IngestError> {
        Self::build(options, Some(cipher))
    }

    /// A plain ingest whose per-chunk SHA-256/SHA-1 are computed by the caller and handed
    /// in with [`Ingest::add_chunk_digests`]; the core still hashes the whole file (CID, ed2k).
    pub fn with_external_chunk_digests(options: IngestOptions) -> Result<Self, IngestError> {
        let mut ingest = Self::build(options, None)?;
        ingest.stored.external_chunk_digests = true;
        Ok(ingest)
    }

    pub fn expects_chunk_digests(&self) -> bool {
        self.stored.external_chunk_digests
    }

    /// Chunks whose bytes have been pushed but whose digests have not been added yet.
    pub fn chunks_awaiting_digests(&self) -> u64 {
        chunk_count(self.stored.size) - self.stored.chunk_hashes.len() as u64
    }

    /// Adds the digests of the next chunks, in order; only for chunks already pushed.
    pub fn add_chunk_digests(&mut self, digests: &[ChunkDigests]) -> Result<(), IngestError> {
        if !self.stored.external_chunk_digests {
            return Err(IngestError::ChunkDigestsNotExpected);
        }
        let awaiting = self.chunks_awaiting_digests();
        if digests.len() as u64 > awaiting {
            return Err(IngestError::ChunkDigestCount { given: digests.len() as u64, expected: awaiting });
        }
        for d in digests {
            self.stored.chunk_hashes.push(d.sha256);
            self.stored.piece_hashes.push(d.sha1);
        }
        Ok(())
    }

    fn build(options: IngestOptions, cipher: Option<FileCipher>) -> Result<Self, IngestError> {
        validate_name(&options.name)?;
        if let Some(c) = &cipher {
            if c.info().plaintext_size != options.size {
                return Err(IngestError::CipherSizeMismatch { cipher: c.info().plaintext_size, file: options.size });
            }
        }
        let stored_size = cipher.as_ref().map_or(options.size, |c| c.info().ciphertext_size());
        if chunk_count(stored_size) > MAX_CHUNKS {
            return Err(IngestError::TooLarge(options.size));
        }
        let chunks = chunk_count(stored_size) as usize;
        let stored = StoredHashes {
            chunk_hashes: Vec::with_capacity(chunks),
            piece_hashes: Vec::with_capacity(chunks),
            ..Default::default()
        };
        let segment = if cipher.is_some() { Vec::with_capacity(SEGMENT_LEN) } else { Vec::new() };
        Ok(Self { options, cipher, segment, next_segment: 0, consumed: 0, stored })
    }

    /// Input bytes per stored chunk: read in multiples of this for the least copying.
    pub fn segment_len(&self) -> usize {
        if self.cipher.is_some() { SEGMENT_LEN } else { CHUNK_SIZE }
    }

    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    pub fn total(&self) -> u64 {
        self.options.size
    }

    pub fn push(&mut self, data: &[u8]) -> Result<(), IngestError> {
        let expected = self.options.size;
        if self.consumed + data.len() as u64 > expected {
            return Err(IngestError::TooMuchInput { expected });
        }
        if self.stored.external_chunk_digests && self.stored.size % CHUNK_SIZE as u64 != 0 {
            return Err(IngestError::UnalignedRead);
        }
        self.consumed += data.len() as u64;
        let Some(cipher) = &self.cipher else {
            self.stored.absorb(data);
            return Ok(());
        };
        let segments = cipher.info().segments();
        let mut data = data;
        while !data.is_empty() {
            let take = (SEGMENT_LEN - self.segment.len()).min(data.len());
            self.segment.extend_from_slice(&data[..take]);
            data = &data[take..];
            // The last segment waits for `finish`: it is sealed with the "last" flag.
            if self.segment.len() == SEGMENT_LEN && self.next_segment + 1 < segments {
                let sealed = cipher.encrypt_segment(self.next_segment, &self.segment)?;
                self.stored.absorb(&sealed);
                self.segment.clear();
                self.next_segment += 1;
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<Manifest, IngestError> {
        if self.consumed != self.options.size {
            return Err(IngestError::Truncated { expected: self.options.size, got: self.consumed });
        }
        if let Some(cipher) = &self.cipher {
            let sealed = cipher.encrypt_segment(self.next_segment, &self.segment)?;
            self.stored.absorb(&sealed);
        }
        let mut s = self.stored;
        if s.external_chunk_digests {
            let expected = chunk_count(s.size);
            if s.chunk_hashes.len() as u64 != expected {
                return Err(IngestError::ChunkDigestCount { given: s.chunk_hashes.len() as u64, expected });
            }
        } else if s.in_chunk > 0 {
            s.close_chunk();
        }
        let pieces = s.piece_hashes.concat();
        let infohash = torrent::infohash(&torrent::info_dict(&self.options.name, s.size, CHUNK_SIZE as u64, &pieces));
        Ok(Manifest {
            name: self.options.name,
            size: s.size,
            mime: self.options.mime,
            created_at: self.options.created_at,
            cid: s.file.finalize().into(),
            merkle_root: merkle_root(&s.chunk_hashes),
            chunk_hashes: s.chunk_hashes,
            piece_hashes: s.piece_hashes,
            infohash,
            ed2k: s.ed2k.finalize(),
            encryption: self.cipher.map(|c| c.info().clone()),
        })
    }
}

#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ReadIngestError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("reading the file failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Ingests from any reader with a fixed 1 MiB buffer; `progress(consumed, total)` after each read.
pub fn ingest_reader(
    mut reader: impl std::io::Read,
    mut ingest: Ingest,
    mut progress: impl FnMut(u64, u64),
) -> Result<Manifest, ReadIngestError> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        ingest.push(&buf[..n])?;
        progress(ingest.consumed(), ingest.total());
    }
    Ok(ingest.finish()?)
}
