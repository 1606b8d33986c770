//! sessionscope-server
