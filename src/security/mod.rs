//! Security plumbing the domain and the edge share: the master key and sealed secrets, the
//! appliance's own keys, password policy and hashing, access tokens, and the login lockout.
//! None of it knows HTTP or the domain.

pub mod crypto;
pub mod keys;
pub mod lockout;
pub mod passwords;
pub mod tokens;
