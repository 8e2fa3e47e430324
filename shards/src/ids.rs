//! Newtype IDs. Each one is a redb key encoded big-endian so byte order is numeric order,
//! which keeps range scans over `(TenantId, …)` tuples contiguous.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use redb::{Key, TypeName, Value};
use serde::{Deserialize, Serialize};

macro_rules! id_u64 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            pub const MIN: Self = Self(0);
            pub const MAX: Self = Self(u64::MAX);
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl Value for $name {
            type SelfType<'a> = $name;
            type AsBytes<'a> = [u8; 8];

            fn fixed_width() -> Option<usize> {
                Some(8)
            }

            fn from_bytes<'a>(data: &'a [u8]) -> Self
            where
                Self: 'a,
            {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[..8]);
                $name(u64::from_be_bytes(b))
            }

            fn as_bytes<'a, 'b: 'a>(value: &'a Self) -> [u8; 8]
            where
                Self: 'b,
            {
                value.0.to_be_bytes()
            }

            fn type_name() -> TypeName {
                TypeName::new(concat!("botyard::", stringify!($name)))
            }
        }

        impl Key for $name {
            fn compare(a: &[u8], b: &[u8]) -> Ordering {
                a.cmp(b)
            }
        }
    };
}

id_u64!(
    /// A tenant: the unit of isolation.
    TenantId
);
id_u64!(
    /// A login account (admin staff or a tenant's member).
    AccountId
);
id_u64!(
    /// A subscription plan.
    PlanId
);
id_u64!(
    /// An API key for tenant automation.
    ApiKeyId
);
id_u64!(
    /// An invitation to join a tenant.
    InvitationId
);
id_u64!(
    /// A refresh-token family: every token rotated from one login.
    FamilyId
);
id_u64!(
    /// An audit log entry, ordered by time of writing.
    AuditId
);
id_u64!(
    /// An alert the server raised, ordered by time of raising.
    AlertId
);
id_u64!(
    /// A payment recorded for a tenant's subscription, ordered by time of recording.
    PaymentId
);
id_u64!(
    /// An invoice or credit note, ordered by time of issue.
    InvoiceId
);
id_u64!(
    /// A mail in the outbox, ordered by time of writing.
    OutboxId
);
id_u64!(
    /// A marketing mail the reseller wrote, ordered by time of writing.
    MailingId
);
id_u64!(
    /// A per-tenant secret slot (session material and the like).
    SecretId
);
id_u64!(
    /// A tenant's message template; never reused after a delete.
    TemplateId
);
id_u64!(
    /// A file in a tenant's media folder; never reused after a delete.
    MediaId
);
id_u64!(
    /// A tenant's campaign; never reused after a delete.
    CampaignId
);
id_u64!(
    /// A tenant's statistics report.
    ReportId
);
id_u64!(
    /// A tenant's group automation rule; never reused after a delete.
    RuleId
);

/// A Telegram chat id. Signed (groups are negative); encoded with the sign bit flipped so
/// byte order equals numeric order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChatId(pub i64);

impl ChatId {
    pub const MIN: Self = Self(i64::MIN);
    pub const MAX: Self = Self(i64::MAX);
}

impl Value for ChatId {
    type SelfType<'a> = ChatId;
    type AsBytes<'a> = [u8; 8];

    fn fixed_width() -> Option<usize> {
        Some(8)
    }

    fn from_bytes<'a>(data: &'a [u8]) -> Self
    where
        Self: 'a,
    {
        let mut b = [0u8; 8];
        b.copy_from_slice(&data[..8]);
        ChatId((u64::from_be_bytes(b) ^ (1 << 63)) as i64)
    }

    fn as_bytes<'a, 'b: 'a>(value: &'a Self) -> [u8; 8]
    where
        Self: 'b,
    {
        ((value.0 as u64) ^ (1 << 63)).to_be_bytes()
    }

    fn type_name() -> TypeName {
        TypeName::new("botyard::ChatId")
    }
}

impl Key for ChatId {
    fn compare(a: &[u8], b: &[u8]) -> Ordering {
        a.cmp(b)
    }
}

/// A calendar day as days since 1970-01-01 (UTC or the tenant's zone, as the table says).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Day(pub u32);

impl Day {
    pub const MIN: Self = Self(0);
    pub const MAX: Self = Self(u32::MAX);

    /// The UTC day of a unix time in seconds.
    pub fn utc(secs: i64) -> Self {
        Day(u32::try_from(secs.max(0) / 86_400).unwrap_or(u32::MAX))
    }
}

impl Value for Day {
    type SelfType<'a> = Day;
    type AsBytes<'a> = [u8; 4];

    fn fixed_width() -> Option<usize> {
        Some(4)
    }

    fn from_bytes<'a>(data: &'a [u8]) -> Self
    where
        Self: 'a,
    {
        let mut b = [0u8; 4];
        b.copy_from_slice(&data[..4]);
        Day(u32::from_be_bytes(b))
    }

    fn as_bytes<'a, 'b: 'a>(value: &'a Self) -> [u8; 4]
    where
        Self: 'b,
    {
        value.0.to_be_bytes()
    }

    fn type_name() -> TypeName {
        TypeName::new("botyard::Day")
    }
}

impl Key for Day {
    fn compare(a: &[u8], b: &[u8]) -> Ordering {
        a.cmp(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_id_byte_order_is_numeric_order() {
        let ids = [i64::MIN, -1_000_000_000_001, -5, -1, 0, 1, 42, i64::MAX];
        for w in ids.windows(2) {
            let a = ChatId::as_bytes(&ChatId(w[0]));
            let b = ChatId::as_bytes(&ChatId(w[1]));
            assert_eq!(
                ChatId::compare(&a, &b),
                Ordering::Less,
                "{} < {}",
                w[0],
                w[1]
            );
            assert_eq!(ChatId::from_bytes(&a), ChatId(w[0]));
        }
    }

    #[test]
    fn u64_ids_round_trip_and_order() {
        let a = TenantId::as_bytes(&TenantId(255));
        let b = TenantId::as_bytes(&TenantId(256));
        assert_eq!(TenantId::compare(&a, &b), Ordering::Less);
        assert_eq!(TenantId::from_bytes(&b), TenantId(256));
        assert_eq!("17".parse::<TenantId>().ok(), Some(TenantId(17)));
    }
}
id_u64!(
    /// A support request or a piece of feedback, ordered by time of opening.
    TicketId
);
