//! The one integration test binary: every module below is a group of end-to-end tests.

mod engine; // the real Helm engine, through helm-python-sdk
mod rewrite; // post-render: exact bytes out, only references changed
