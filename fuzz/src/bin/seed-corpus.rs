//! Writes each target's seed inputs (from our own encoders) into `fuzz/corpus/<target>/`,
//! named by their SHA-256 like libFuzzer's own corpus files. Idempotent.
//! Usage: `cargo run -p chiral-fuzz --bin seed-corpus [CORPUS_DIR]`.

use sha2::{Digest, Sha256};

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).map(std::path::PathBuf::from).unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    for target in chiral_fuzz::TARGETS {
        let seeds = chiral_fuzz::seeds::for_target(target.name);
        let out = dir.join(target.name);
        std::fs::create_dir_all(&out)?;
        for seed in &seeds {
            (target.run)(seed);
            let name: String = Sha256::digest(seed).iter().take(20).map(|b| format!("{b:02x}")).collect();
            std::fs::write(out.join(name), seed)?;
        }
        println!("{:<22} {} seeds", target.name, seeds.len());
    }
    Ok(())
}
