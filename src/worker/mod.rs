//! `botyard worker`: one tenant's Telegram sessions in a sandboxed process. It reads its whole
//! configuration from the first IPC frame, applies the sandbox before any thread exists, then
//! runs a current-thread runtime: sessions report events, the worker batches them to the
//! supervisor and keeps each batch until the supervisor says it is durable.
//!
//! Everything under `worker/` is the worker side: it runs untrusted, in the sandboxed child,
//! and never touches the store, the server's state or HTTP (a tidy test holds it to that).
//! The server uses two parts of it: `ipc` (the protocol both ends speak) and `sandbox` (what
//! the supervisor sets up when it spawns a child).

pub mod child;
pub mod ipc;
pub mod pacing;
pub mod rules;
pub mod sandbox;
pub mod session_import;
pub mod telegram;

pub use child::{main, serve};
