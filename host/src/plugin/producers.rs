//! The language a component says it was written in: the `language` field of
//! its top-level `producers` custom section (componentize-js writes
//! `JavaScript` there). It picks the memory limit a plugin gets when
//! `[plugins] memory_limit_mib` is not set (config.rs,
//! `default_memory_limit_mib`): engines differ in how much heap they let
//! build up before collecting, and a limit that suits one makes another
//! restart every few thousand events.
//!
//! Only the top level is read: nested modules and components (inside
//! sections 1 and 4) name the languages of their parts, such as the C++ of
//! the JavaScript engine. A missing or malformed section means "unknown",
//! never an error: the section is informational and the plugin is loaded
//! either way.

/// The first `language` entry of the component's own producers section.
pub(crate) fn language(wasm: &[u8]) -> Option<String> {
    let mut r = Reader(wasm.get(8..)?);
    if !wasm.starts_with(b"\0asm") {
        return None;
    }
    while !r.0.is_empty() {
        let id = r.byte()?;
        let size = r.leb()? as usize;
        let mut section = Reader(r.take(size)?);
        // A tool that adds its own section (rather than merging into the
        // existing one) leaves several: the first that names a language.
        if id == 0 && section.name()? == "producers" {
            if let Some(language) = section.producers_language() {
                return Some(language);
            }
        }
    }
    None
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    /// An unsigned LEB128 of at most 32 bits, as section sizes and counts
    /// are.
    fn leb(&mut self) -> Option<u32> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            value |= u32::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn name(&mut self) -> Option<&'a str> {
        let len = self.leb()? as usize;
        std::str::from_utf8(self.take(len)?).ok()
    }

    /// The producers section's body: fields, each a name and a list of
    /// (name, version) values.
    fn producers_language(&mut self) -> Option<String> {
        for _ in 0..self.leb()? {
            let field = self.name()?;
            let values = self.leb()?;
            for i in 0..values {
                let (name, _version) = (self.name()?, self.name()?);
                if field == "language" && i == 0 {
                    return Some(name.to_string());
                }
            }
        }
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn name(s: &str) -> Vec<u8> {
        let mut v = vec![s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    fn section(id: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![id, body.len() as u8];
        v.extend_from_slice(body);
        v
    }

    /// A component header, then the given sections.
    fn component(sections: &[Vec<u8>]) -> Vec<u8> {
        let mut v = b"\0asm\x0d\0\x01\0".to_vec();
        for s in sections {
            v.extend_from_slice(s);
        }
        v
    }

    /// A producers custom section with `fields` (also used by the plugin
    /// tests to label a component's language, tests/wat).
    pub(crate) fn producers(fields: &[(&str, &[(&str, &str)])]) -> Vec<u8> {
        let mut body = name("producers");
        body.push(fields.len() as u8);
        for (field, values) in fields {
            body.extend(name(field));
            body.push(values.len() as u8);
            for (n, version) in *values {
                body.extend(name(n));
                body.extend(name(version));
            }
        }
        section(0, &body)
    }

    #[test]
    fn reads_the_language_of_the_top_level_producers_section() {
        let nested = component(&[producers(&[("language", &[("C++", "")])])]);
        let wasm = component(&[
            section(1, &nested), // a nested module naming its own language
            section(0, &[name("other").as_slice(), b"xyz"].concat()),
            producers(&[
                ("processed-by", &[("wit-component", "0.259.0")]),
                ("language", &[("JavaScript", ""), ("Rust", "")]),
            ]),
        ]);
        assert_eq!(language(&wasm).as_deref(), Some("JavaScript"));
    }

    #[test]
    fn no_section_or_a_broken_one_is_unknown() {
        assert_eq!(language(&component(&[])), None);
        let only_tools = producers(&[("processed-by", &[("wit-component", "0.245.1")])]);
        assert_eq!(language(&component(&[only_tools])), None);
        let mut cut = component(&[producers(&[("language", &[("JavaScript", "")])])]);
        cut.truncate(cut.len() - 3);
        assert_eq!(language(&cut), None);
        assert_eq!(language(b"not wasm at all"), None);
        assert_eq!(language(&[]), None);
    }
}
