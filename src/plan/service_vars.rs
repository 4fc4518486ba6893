//! The variables planrun defines for each `service` step: `${service.<id>.port}`, a free TCP
//! port on 127.0.0.1, and `${service.<id>.dir}`, an empty directory of the service's own. Their
//! values are picked when an apply or a dry run is prepared (a `--var` of the same name fixes
//! one instead); validation only needs their names, and gives them placeholders.

use std::collections::BTreeMap;

use super::model::{Plan, Step};

/// The start of the name of every service directory planrun makes (in the system temp
/// directory), which is also what rollback checks before it removes one.
pub const DIR_PREFIX: &str = "planrun-service-";

/// The names of one service's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceVars {
    /// The service's step id.
    pub id: String,
    /// `service.<id>.port`.
    pub port: String,
    /// `service.<id>.dir`.
    pub dir: String,
}

impl ServiceVars {
    /// The variables of the service `id`.
    pub fn new(id: &str) -> Self {
        ServiceVars {
            id: id.to_string(),
            port: format!("service.{id}.port"),
            dir: format!("service.{id}.dir"),
        }
    }
}

/// The variables of every service step of `plan`, in file order.
pub fn of(plan: &Plan) -> Vec<ServiceVars> {
    plan.steps()
        .filter_map(|(_, step)| match step {
            Step::Service(s) => Some(ServiceVars::new(&s.id)),
            _ => None,
        })
        .collect()
}

/// Stand-ins for validation, which picks no port and makes no directory.
pub fn placeholders(plan: &Plan) -> BTreeMap<String, String> {
    of(plan)
        .into_iter()
        .flat_map(|v| {
            let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{}", v.id));
            [
                (v.port, "0".to_string()),
                (v.dir, dir.display().to_string()),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_has_a_port_and_a_dir_variable() {
        let plan: Plan = toml::from_str(
            "name='x'\ndescription='d'\n[[phase]]\nid='p'\n\
             [[phase.step]]\nid='db'\naction='service'\ncommand='serve'\n\
             [[phase.step]]\nid='r'\naction='run'\ncommand='true'\n",
        )
        .unwrap();
        assert_eq!(
            of(&plan),
            [ServiceVars {
                id: "db".into(),
                port: "service.db.port".into(),
                dir: "service.db.dir".into()
            }]
        );
        let shown = placeholders(&plan);
        assert_eq!(shown["service.db.port"], "0");
        assert!(shown["service.db.dir"].ends_with("planrun-service-db"));
    }
}
