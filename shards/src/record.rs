//! Tagged, versioned records. A stored value is `[tag, version, postcard body]`: the tag
//! catches a value read through the wrong table, the version lets old rows be upgraded on read.

use std::fmt;
use std::marker::PhantomData;

use redb::{TypeName, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::CodecError;

/// A record type stored in a table. `VERSION` is the layout written today; older layouts are
/// handled in `upgrade`.
pub trait Record: Serialize + DeserializeOwned {
    const TAG: u8;
    const VERSION: u8;
    const NAME: &'static str;

    /// Decodes a body written with an older `version`. The default knows none.
    fn upgrade(version: u8, _body: &[u8]) -> Result<Self, CodecError> {
        Err(CodecError::UnknownVersion {
            record: Self::NAME,
            version,
        })
    }
}

/// For [`Record::upgrade`]: the body of an older layout `version` of `record`, when it is the
/// one layout `T` knows (`from`).
pub(crate) fn decode_old<T: DeserializeOwned>(
    record: &'static str,
    version: u8,
    from: u8,
    body: &[u8],
) -> Result<T, CodecError> {
    if version != from {
        return Err(CodecError::UnknownVersion { record, version });
    }
    postcard::from_bytes(body).map_err(|e| CodecError::Decode {
        record,
        reason: e.to_string(),
    })
}

pub fn encode<T: Record>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![T::TAG, T::VERSION];
    let body = postcard::to_allocvec(value).map_err(|e| CodecError::Encode {
        record: T::NAME,
        reason: e.to_string(),
    })?;
    out.extend_from_slice(&body);
    Ok(out)
}

pub fn decode<T: Record>(bytes: &[u8]) -> Result<T, CodecError> {
    let [tag, version, body @ ..] = bytes else {
        return Err(CodecError::Truncated { record: T::NAME });
    };
    if *tag != T::TAG {
        return Err(CodecError::WrongTag {
            record: T::NAME,
            found: *tag,
        });
    }
    if *version == T::VERSION {
        postcard::from_bytes(body).map_err(|e| CodecError::Decode {
            record: T::NAME,
            reason: e.to_string(),
        })
    } else {
        T::upgrade(*version, body)
    }
}

/// The redb value type of a record table: raw bytes on the way in and out, decoded by the
/// caller through [`Rec::decode`] so a bad row is an error, never a panic inside redb.
pub struct Rec<T>(PhantomData<T>);

impl<T> fmt::Debug for Rec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Rec")
    }
}

/// Encoded bytes of a `T`.
pub struct RecBytes<'a, T> {
    bytes: std::borrow::Cow<'a, [u8]>,
    _t: PhantomData<T>,
}

impl<T> fmt::Debug for RecBytes<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecBytes({} bytes)", self.bytes.len())
    }
}

impl<T: Record> RecBytes<'_, T> {
    pub fn decode(&self) -> Result<T, CodecError> {
        decode(&self.bytes)
    }

    pub fn raw(&self) -> &[u8] {
        &self.bytes
    }
}

impl<T: Record> RecBytes<'static, T> {
    pub fn encode(value: &T) -> Result<Self, CodecError> {
        Ok(RecBytes {
            bytes: std::borrow::Cow::Owned(encode(value)?),
            _t: PhantomData,
        })
    }
}

impl<T: Record + 'static> Value for Rec<T> {
    type SelfType<'a>
        = RecBytes<'a, T>
    where
        Self: 'a;
    type AsBytes<'a>
        = &'a [u8]
    where
        Self: 'a;

    fn fixed_width() -> Option<usize> {
        None
    }

    fn from_bytes<'a>(data: &'a [u8]) -> RecBytes<'a, T>
    where
        Self: 'a,
    {
        RecBytes {
            bytes: std::borrow::Cow::Borrowed(data),
            _t: PhantomData,
        }
    }

    fn as_bytes<'a, 'b: 'a>(value: &'a RecBytes<'b, T>) -> &'a [u8]
    where
        Self: 'b,
    {
        &value.bytes
    }

    fn type_name() -> TypeName {
        TypeName::new(&format!("botyard::Rec<{}>", T::NAME))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Thing {
        name: String,
        n: u32,
    }
    impl Record for Thing {
        const TAG: u8 = 250;
        const VERSION: u8 = 2;
        const NAME: &'static str = "thing";
        fn upgrade(version: u8, body: &[u8]) -> Result<Self, CodecError> {
            match version {
                1 => {
                    let name: String =
                        postcard::from_bytes(body).map_err(|e| CodecError::Decode {
                            record: Self::NAME,
                            reason: e.to_string(),
                        })?;
                    Ok(Thing { name, n: 0 })
                }
                v => Err(CodecError::UnknownVersion {
                    record: Self::NAME,
                    version: v,
                }),
            }
        }
    }

    #[test]
    fn round_trip_and_upgrade() {
        let t = Thing {
            name: "ayşe".into(),
            n: 7,
        };
        assert_eq!(decode::<Thing>(&encode(&t).unwrap()).unwrap(), t);

        let mut old = vec![250, 1];
        old.extend(postcard::to_allocvec(&"eski".to_string()).unwrap());
        assert_eq!(
            decode::<Thing>(&old).unwrap(),
            Thing {
                name: "eski".into(),
                n: 0
            }
        );

        assert!(matches!(
            decode::<Thing>(&[249, 2, 0]),
            Err(CodecError::WrongTag { .. })
        ));
        assert!(matches!(
            decode::<Thing>(&[250]),
            Err(CodecError::Truncated { .. })
        ));
        assert!(matches!(
            decode::<Thing>(&[250, 9]),
            Err(CodecError::UnknownVersion { .. })
        ));
        assert!(matches!(
            decode::<Thing>(&[250, 2, 0xff]),
            Err(CodecError::Decode { .. })
        ));
    }
}
