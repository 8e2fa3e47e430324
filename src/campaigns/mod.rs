//! Campaigns: which template goes to which groups, from which session, when.

pub mod schedule;
