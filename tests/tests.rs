//! Integration tests, compiled as one binary (one module per area).

mod common;

mod suite {
    #[cfg(feature = "gui")]
    mod app;
    #[cfg(feature = "gui")]
    mod app_engine;
    #[cfg(feature = "gui")]
    mod app_ladder;
    #[cfg(feature = "gui")]
    mod app_motion;
    #[cfg(feature = "gui")]
    mod app_tune;
    mod bad_input;
    mod churn;
    mod cli;
    mod formats;
    mod pgvector;
    mod project;
    #[cfg(feature = "qdrant")]
    mod qdrant;
    mod quantized;
    mod robustness;
    mod sample;
    mod tune;
    #[cfg(feature = "gui")]
    mod views;
}
