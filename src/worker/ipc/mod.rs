//! Supervisor ↔ worker IPC over an inherited Unix socketpair.

pub mod frame;
pub mod messages;

pub use frame::{FrameError, FrameReader, FrameWriter, MAX_FRAME};
