//! Integration tests: the real `planrun` binary against temp copies of example repositories.

mod apply;
mod cli;
mod gates;
mod locks;
mod plans;
mod support;
mod trust;
mod validate;
