//! Integration tests: the real `planrun` binary against temp copies of example repositories.

mod apply;
mod budgets;
mod cli;
mod dryrun;
mod envs;
mod failures;
mod formats;
mod gates;
mod harness;
mod html;
mod junit_values;
mod leftovers;
mod locks;
mod logs;
mod messages;
mod outputs;
mod plans;
mod schema;
mod stages;
mod support;
mod trust;
mod validate;
mod verdicts;
mod wheel;
mod workflow;
