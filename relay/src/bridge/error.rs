//! What can go wrong in the bridge, typed: the HTTP side maps each kind to its status
//! ([`BridgeError::status`]) instead of reading messages.

use std::sync::Arc;

use axum::http::StatusCode;

#[non_exhaustive]
#[derive(Debug, Clone, thiserror::Error)]
pub enum BridgeError {
    #[error("no chunk {index}: the file has {pieces} chunks")]
    NoSuchChunk { index: u32, pieces: u32 },
    /// The relay pays no one, so it never takes bytes from a priced seeder.
    #[error("every seeder of this file asks a price per MB, and the relay pays no one: download it in the Chiral app, which pays the seeders")]
    PricedOnly,
    #[error("the browser seeder went away")]
    SeederGone,
    #[error("the bridged file does not match its content ID {cid}")]
    NotTheCid { cid: String },
    #[error("the relay's bridge has {free} of its {limit} bytes of disk free; this file needs {needed}")]
    NoDiskRoom { free: u64, limit: u64, needed: u64 },
    #[error("cannot download this torrent: {0}")]
    Unsupported(String),
    #[error("the torrent's metadata is not known yet")]
    NoMetadata,
    #[error("the relay's own files are read-only")]
    ReadOnly,
    #[error("the bridge's storage failed: {0}")]
    Storage(Arc<std::io::Error>),
    #[error("the download stopped")]
    Stopped,
    #[error("no browser tab offers this torrent")]
    NotOffered,
    #[error("the peer sent nothing for too long")]
    Silent,
    #[error("the connection failed: {0}")]
    Connection(Arc<std::io::Error>),
}

impl BridgeError {
    /// The HTTP status an HTTP client of the bridge gets for this.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NoSuchChunk { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::PricedOnly => StatusCode::PAYMENT_REQUIRED,
            Self::NotOffered | Self::SeederGone => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    /// A file that failed this way is given up: its pages are told why and let go, and
    /// pages that come back are refused, until the file's task has ended and a new one
    /// tries again (the disk may have room by then).
    pub fn refuses_pages(&self) -> bool {
        matches!(self, Self::NoDiskRoom { .. } | Self::Storage(_))
    }

    pub(super) fn storage(e: std::io::Error) -> Self {
        Self::Storage(Arc::new(e))
    }
}

impl From<BridgeError> for crate::api_error::ApiError {
    fn from(e: BridgeError) -> Self {
        let message = match &e {
            // Paths and OS errors stay in the log.
            BridgeError::Storage(_) => "the relay could not store or read this file".to_string(),
            other => other.to_string(),
        };
        crate::api_error::ApiError::new(e.status(), message).with_detail(&e)
    }
}
