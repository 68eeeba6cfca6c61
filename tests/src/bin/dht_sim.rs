//! `dht-sim [NODES] [LOOKUPS] [SEED] [--converged]`: the relays' Kademlia on NODES in-process
//! nodes over the memory transport (defaults 1000 nodes, 1000 lookups); prints lookup success,
//! hops and timings. Nodes join by bootstrapping unless `--converged` fills their routing tables
//! directly (see `chiral_e2e::dht_sim`).

use anyhow::Context;
use chiral_e2e::dht_sim::{run, Join, SimConfig};

const USAGE: &str = "usage: dht-sim [NODES] [LOOKUPS] [SEED] [--converged]";

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> anyhow::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    args.get(i).map_or(Ok(default), |a| {
        a.parse().with_context(|| format!("bad argument {a:?}; {USAGE}"))
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (flags, args): (Vec<String>, Vec<String>) = std::env::args().skip(1).partition(|a| a.starts_with("--"));
    let mut config = SimConfig::new(arg(&args, 0, 1000)?, arg(&args, 1, 1000)?);
    config.seed = arg(&args, 2, config.seed)?;
    for flag in flags {
        match flag.as_str() {
            "--converged" => config.join = Join::Converged,
            _ => anyhow::bail!("unknown flag {flag}; {USAGE}"),
        }
    }
    eprintln!(
        "dht-sim: {} nodes ({:?}), {} lookups, seed {}…",
        config.nodes, config.join, config.lookups, config.seed
    );
    let report = run(config).await?;
    print!("{}", report.table());
    Ok(())
}
