//! The fast path's cursor over one flat JSON object: strings without escapes, plain numbers,
//! `true`, `false` and `null`, read straight from the input's bytes. Whatever it cannot read
//! as is makes it answer `None`, and the caller hands the record to the general path.

/// The length of a JSON string's content up to its closing quote, when it has no escape and no
/// control character; `None` otherwise. Eight bytes at a time: most strings of a record are
/// short, too short for a SIMD search to pay for its call.
fn plain_string_len(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    // The high bit of each byte of `word` that is zero (exact for the lowest such byte, which
    // is the only one used).
    let zero = |word: u64| word.wrapping_sub(ONES) & !word & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let special = zero(word ^ (ONES * u64::from(b'"')))
            | zero(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word & HIGH);
        if special != 0 {
            let at = offset + (special.trailing_zeros() / 8) as usize;
            return (bytes[at] == b'"').then_some(at);
        }
        offset += 8;
    }
    for (i, &byte) in chunks.remainder().iter().enumerate() {
        match byte {
            b'"' => return Some(offset + i),
            b'\\' | 0..0x20 => return None,
            _ => {}
        }
    }
    None
}

/// A cursor over one flat JSON object.
pub(crate) struct Flat<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

/// The most digits of an integer the fast path reads itself (below 2^53, so exact as `f64`
/// and within every count's range).
const FAST_DIGITS: usize = 15;

impl<'a> Flat<'a> {
    /// A cursor at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Flat<'a> {
        Flat {
            text,
            bytes: text.as_bytes(),
            at: 0,
        }
    }

    /// True when every byte has been read.
    pub(crate) fn at_end(&self) -> bool {
        self.at == self.bytes.len()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    pub(crate) fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    pub(crate) fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    pub(crate) fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// A string without escapes or control characters (JSON forbids the latter unescaped).
    pub(crate) fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let end = start + plain_string_len(&self.bytes[start..])?;
        self.at = end + 1;
        // Both ends are ASCII quotes, so both are character boundaries of `text`.
        self.text.get(start..end)
    }

    /// A key, which is most often one of `names[expected..]`: those are tried first, each by
    /// one comparison, before the key is scanned as a string. `Ok(index)` of the name found
    /// there, or `Err(key)` for any other key (still to be looked up by the caller).
    pub(crate) fn key(
        &mut self,
        names: &[&str],
        expected: usize,
    ) -> Option<Result<usize, &'a str>> {
        self.expect(b'"')?;
        let rest = &self.bytes[self.at..];
        for (i, name) in names.iter().enumerate().skip(expected) {
            let len = name.len();
            // `name` then the closing quote: the key is exactly `name`, no escape in it.
            if rest.get(len) == Some(&b'"') && same_name(&rest[..len], name.as_bytes()) {
                self.at += len + 1;
                return Some(Ok(i));
            }
        }
        self.at -= 1;
        self.string().map(Err)
    }

    /// `true`, `false` or `null` when the next bytes spell it.
    fn word(&mut self, word: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(word);
        if found {
            self.at += word.len();
        }
        found
    }

    pub(crate) fn null(&mut self) -> bool {
        self.word(b"null")
    }

    pub(crate) fn boolean(&mut self) -> Option<bool> {
        if self.word(b"true") {
            Some(true)
        } else if self.word(b"false") {
            Some(false)
        } else {
            None
        }
    }

    /// A JSON number without an exponent: its text, and whether it is a plain integer of at
    /// most [`FAST_DIGITS`] digits.
    fn number(&mut self) -> Option<(&'a str, bool)> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let digits = self.digits();
        if digits == 0 || (digits > 1 && self.bytes[self.at - digits] == b'0') {
            return None; // no digits, or a leading zero
        }
        let mut integer = !negative && digits <= FAST_DIGITS;
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
            integer = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            return None;
        }
        Some((self.text.get(start..self.at)?, integer))
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        self.at - start
    }

    pub(crate) fn count(&mut self) -> Option<Option<u64>> {
        if self.null() {
            return Some(None);
        }
        match self.number()? {
            (digits, true) => Some(Some(
                digits.bytes().fold(0, |n, d| n * 10 + u64::from(d - b'0')),
            )),
            _ => None,
        }
    }

    pub(crate) fn float(&mut self) -> Option<Option<f64>> {
        if self.null() {
            return Some(None);
        }
        match self.number()? {
            // Exact: fewer than 16 digits are below 2^53.
            (digits, true) => Some(Some(
                digits.bytes().fold(0, |n, d| n * 10 + u64::from(d - b'0')) as f64,
            )),
            // Correctly rounded, as serde_json's `float_roundtrip` reads it.
            (text, false) => text.parse::<f64>().ok().map(Some),
        }
    }

    pub(crate) fn text_or_null(&mut self) -> Option<Option<&'a str>> {
        if self.null() {
            return Some(None);
        }
        self.string().map(Some)
    }

    pub(crate) fn bool_or_null(&mut self) -> Option<Option<bool>> {
        if self.null() {
            return Some(None);
        }
        self.boolean().map(Some)
    }

    /// The value of an unknown key: a scalar is checked and skipped; a nested value sends the
    /// record to the general path.
    pub(crate) fn skip_scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b't' | b'f' => self.boolean().map(drop),
            b'n' => self.null().then_some(()),
            _ => self.number().map(drop),
        }
    }
}

/// `a == b` for names of at most 16 bytes, as at most two 8-byte comparisons of overlapping
/// words (no call into `memcmp`, which costs more than the comparison here).
pub(crate) fn same_name(a: &[u8], b: &[u8]) -> bool {
    let word = |s: &[u8], from: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[from..from + 8]);
        u64::from_le_bytes(w)
    };
    let n = a.len();
    if n != b.len() {
        false
    } else if (8..=16).contains(&n) {
        word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8)
    } else {
        a == b
    }
}
