//! Operational subcommands of the binary (`botyard backup …`): what they do, apart from
//! parsing their arguments (`main.rs`). Each returns the text to print or an error to show.

pub mod admin_client;
pub mod backup;
pub mod tenants;
