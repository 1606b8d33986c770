//! sessionscope-generate
