//! Mail: the SMTP server's settings, one branded layout, the notices and who gets them, and
//! the outbox's sender. A notice is written to the outbox in the transaction of what caused
//! it and sent afterwards (DESIGN.md, "Notifications").

pub mod account;
pub mod compose;
pub mod delivery;
pub mod letter;
pub mod marketing;
pub mod notices;
pub mod outbox;
pub mod sender;
pub mod settings;
pub mod smtp;
pub mod unsubscribe;
