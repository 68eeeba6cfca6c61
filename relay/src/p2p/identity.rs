//! The relay's persistent libp2p identity: an ed25519 key in the data dir, so the PeerId
//! (and every address others bootstrap from) survives restarts.

use std::path::Path;

use anyhow::Context;
use libp2p::identity::Keypair;

pub const KEY_FILE: &str = "identity.key";

pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Keypair> {
    let path = data_dir.join(KEY_FILE);
    if path.exists() {
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        return Keypair::from_protobuf_encoding(&bytes)
            .with_context(|| format!("{} is not a libp2p key (delete it to make a new identity)", path.display()));
    }
    let key = Keypair::generate_ed25519();
    let bytes = key.to_protobuf_encoding().context("encoding the new key")?;
    write_private(&path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(peer_id = %key.public().to_peer_id(), "created a new relay identity");
    Ok(key)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}
