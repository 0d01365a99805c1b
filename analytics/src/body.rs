//! A request body read as it arrives and cut at its limit: the bytes of a body that stays
//! within the limit, or the answer that it is too large once one byte more than the limit has
//! arrived, whatever the `Content-Length` said or whether there was one (a chunked upload has
//! none). Nothing past the limit is ever held.

/// The body so far. Feed it the chunks in order with [`BoundedBody::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedBody {
    limit: usize,
    bytes: Vec<u8>,
}

/// A body over its limit: more than `limit` bytes arrived, and reading stopped there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body is more than {limit} bytes; at most {limit} are accepted")]
pub struct BodyTooLarge {
    /// The most bytes accepted.
    pub limit: usize,
}

impl BoundedBody {
    /// An empty body that may grow to `limit` bytes.
    pub fn new(limit: usize) -> BoundedBody {
        BoundedBody {
            limit,
            bytes: Vec::new(),
        }
    }

    /// Adds the next chunk. Once the body holds more than its limit, this is an error and the
    /// caller stops reading: the bytes past the limit are not kept.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), BodyTooLarge> {
        let room = self.limit - self.bytes.len();
        if chunk.len() > room {
            return Err(BodyTooLarge { limit: self.limit });
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// The whole body, at most the limit.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_cut_one_byte_past_its_limit_however_it_is_split() {
        let mut body = BoundedBody::new(8);
        for chunk in [&b"abc"[..], b"", b"defgh"] {
            body.push(chunk).expect("within the limit");
        }
        assert_eq!(body.clone().into_bytes(), b"abcdefgh");
        assert_eq!(body.push(b"i"), Err(BodyTooLarge { limit: 8 }));
        let mut big = BoundedBody::new(8);
        let err = big.push(&[b'x'; 30 * 1024 * 1024]).expect_err("too large");
        assert_eq!(
            err.to_string(),
            "the request body is more than 8 bytes; at most 8 are accepted"
        );
        assert!(
            big.into_bytes().is_empty(),
            "nothing past the limit is held"
        );
    }
}
