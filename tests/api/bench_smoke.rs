//! The load benchmark, run tiny (seconds, a few hundred RFAs) so that it cannot rot: every
//! scenario must complete without errors on both backends. Figures come from `cargo bench`.

#[path = "../../benches/support/mod.rs"]
mod support;

use crate::both_backends;
use crate::helpers::Backend;

both_backends!(the_load_benchmark_runs, the_documents_benchmark_runs);

async fn the_load_benchmark_runs(backend: Backend) {
    let cfg = support::load::Config {
        small: 300,
        large: 600,
        concurrency: 4,
        seconds: 0.5,
        binary: env!("CARGO_BIN_EXE_rfa-tracker").to_string(),
        postgres: (backend == Backend::Postgres)
            .then(|| std::env::var("RFA_TEST_POSTGRES_URL").unwrap()),
        search_rate: 20.0,
    };
    let results = support::load::run(&cfg).await.expect("benchmark run");
    assert_eq!(results.len(), 15);
    for r in &results {
        assert!(r.requests > 0, "{}: no requests", r.scenario);
        assert_eq!(r.errors, 0, "{}: errors", r.scenario);
    }
}

async fn the_documents_benchmark_runs(backend: Backend) {
    let postgres =
        (backend == Backend::Postgres).then(|| std::env::var("RFA_TEST_POSTGRES_URL").unwrap());
    for store in ["files", "database"] {
        let figures = support::documents::run(
            env!("CARGO_BIN_EXE_rfa-tracker"),
            1,
            postgres.clone(),
            store,
        )
        .await
        .expect("documents benchmark run");
        assert_eq!(figures["store"], store);
        assert!(figures["upload_mib_s"].as_f64().unwrap() > 0.0, "{figures}");
        assert!(
            figures["download_mib_s"].as_f64().unwrap() > 0.0,
            "{figures}"
        );
    }
}
