//! Integration tests: the real `planrun` binary against temp copies of example repositories.

mod apply;
mod cli;
mod envs;
mod gates;
mod plans;
mod support;
mod validate;
