//! sessionscope-analyze
