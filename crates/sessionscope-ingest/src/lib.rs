//! sessionscope-ingest
