//! Replays every committed fuzz input (corpora and regressions) through its target, on the
//! stable toolchain: the test command's share of fuzzing. A target without a corpus, or a
//! corpus directory without a target, fails, so nothing drops out of the fuzzing silently.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn every_corpus_and_regression_input_passes_its_target() {
    let mut replayed = 0;
    for target in chiral_fuzz::TARGETS {
        let corpus = inputs(&root().join("corpus").join(target.name));
        assert!(!corpus.is_empty(), "fuzz target {} has no corpus in fuzz/corpus/{}", target.name, target.name);
        for file in corpus.iter().chain(inputs(&root().join("regressions").join(target.name)).iter()) {
            let data = std::fs::read(file).expect("readable");
            let outcome = std::panic::catch_unwind(|| (target.run)(&data));
            assert!(outcome.is_ok(), "{} fails on {}", target.name, file.display());
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} fuzz inputs");
}

#[test]
fn every_target_has_a_libfuzzer_binary_and_every_corpus_a_target() {
    let manifest = std::fs::read_to_string(root().join("libfuzzer/Cargo.toml")).expect("fuzz/libfuzzer/Cargo.toml");
    for target in chiral_fuzz::TARGETS {
        let src = std::fs::read_to_string(root().join("libfuzzer/fuzz_targets").join(format!("{}.rs", target.name))).unwrap_or_default();
        assert!(src.contains(&format!("\"{}\"", target.name)), "fuzz/libfuzzer/fuzz_targets/{}.rs must run target {:?}", target.name, target.name);
        assert!(manifest.contains(&format!("name = \"{}\"", target.name)), "fuzz/libfuzzer/Cargo.toml lacks a [[bin]] for {}", target.name);
    }
    for dir in ["corpus", "regressions"] {
        for entry in std::fs::read_dir(root().join(dir)).into_iter().flatten().filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(chiral_fuzz::target(&name).is_some(), "fuzz/{dir}/{name} belongs to no target");
        }
    }
}

#[test]
fn the_seeds_pass_their_targets() {
    for target in chiral_fuzz::TARGETS {
        let seeds = chiral_fuzz::seeds::for_target(target.name);
        assert!(!seeds.is_empty(), "{} has no seeds", target.name);
        for seed in seeds {
            (target.run)(&seed);
        }
    }
}
