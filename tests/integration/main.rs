//! Integration tests: the real `planrun` binary against temp copies of example repositories.

mod apply;
mod backend;
mod cli;
mod envs;
mod formats;
mod gates;
mod harness;
mod junit_values;
mod leftovers;
mod locks;
mod logs;
mod messages;
mod outputs;
mod plans;
mod services;
mod support;
mod trust;
mod validate;
mod verdicts;
