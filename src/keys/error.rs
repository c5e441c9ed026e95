//! A value that cannot be used, with the row of the key it belongs to: a message names its key
//! through the row, never by a string of its own.

use std::fmt;

use super::spec::Key;

/// A value a person gave that cannot be used, with the key it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    pub key: &'static Key,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: &'static Key, message: impl Into<String>) -> Self {
        Self {
            key,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key.name, self.message)
    }
}

impl std::error::Error for ConfigError {}
