//! A password or other secret taken from the config. It is kept out of
//! every message: `Debug` prints `***` and there is no `Display`, so a
//! settings struct that holds one can be logged, shown by `sluice check`
//! or put in an error without leaking it. Only [`Secret::expose`] gives the
//! text, at the one place it is handed to a client library.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The secret itself, for the client library that needs it. Never
    /// format the result into a message.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_text() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            password: Secret,
        }
        let h = Holder {
            password: Secret::new("hunter2-sluice"),
        };
        let shown = format!("{h:?} {h:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(h.password.expose(), "hunter2-sluice");
    }
}
