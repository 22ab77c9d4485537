//! Keychain
