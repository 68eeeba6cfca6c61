//! The relays' real Kademlia on in-process nodes over the memory transport (see
//! `chiral_e2e::dht_sim`): provider lookups must succeed and take few hops.

use std::time::Instant;

use chiral_e2e::dht_sim::{run, Join, SimConfig};

/// 1000 nodes with converged routing tables (a full bootstrap per node would cost ~300-500
/// requests each, minutes of CPU in a debug build; `scripts/bench-dht.sh` measures that).
///
/// The hop bound: Kademlia's O(log2 n) (10 here) is the worst case, one bit of progress a
/// hop. With K = 20 peers a bucket, each answer comes from a bucket of about K random peers
/// of the key's region, so a hop narrows the search by about a factor K: some
/// log_20(1000 / 20) + 1 ≈ 2.3 hops to reach the 20 nodes that hold the provider record.
/// p95 <= 4 leaves room for that estimate and still fails if routing falls back to a few
/// bits a hop; no lookup may exceed log2(1000) ≈ 10.
#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_node_dht_finds_providers_in_few_hops() -> anyhow::Result<()> {
    let started = Instant::now();
    let mut config = SimConfig::new(1000, 200);
    config.join = Join::Converged;
    let report = run(config).await?;
    println!("{}", report.table());
    println!("test time {:.1} s", started.elapsed().as_secs_f64());

    assert!(report.success_rate() >= 0.99, "success {:.3}", report.success_rate());
    assert_eq!(
        report.untraced, 0,
        "every first provider answer is placed in its query's referral tree"
    );
    assert_eq!(report.publish_failures, 0);
    let p95 = report.hops_p95().expect("successful lookups have hop counts");
    assert!(p95 <= 4, "p95 hops {p95}");
    assert!(report.hops_max() <= Some(10), "max hops {:?}", report.hops_max());
    Ok(())
}

/// The real join path, smaller: each node dials 3 earlier ones and bootstraps.
#[tokio::test(flavor = "multi_thread")]
async fn nodes_that_join_by_bootstrapping_find_providers() -> anyhow::Result<()> {
    let started = Instant::now();
    let report = run(SimConfig::new(64, 50)).await?;
    println!("{}", report.table());
    println!("test time {:.1} s", started.elapsed().as_secs_f64());

    assert_eq!(report.join_failures, 0);
    assert!(report.success_rate() >= 0.99, "success {:.3}", report.success_rate());
    assert_eq!(report.untraced, 0);
    assert!(report.hops_p95() <= Some(4), "p95 hops {:?}", report.hops_p95());
    Ok(())
}
