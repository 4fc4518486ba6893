//! Integration tests: the real `planrun` binary against temp copies of example repositories.

mod cli;
mod plans;
mod support;
mod validate;
