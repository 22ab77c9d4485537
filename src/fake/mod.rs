//! Fake KOMOJU
