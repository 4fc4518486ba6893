//! The piecewise parse means what the whole-file parse means: on each text below, `load::parse`
//! (which tries the pieces first) gives the same plan, or the same diagnostics, as the strict
//! whole-file pass; and the texts it must leave to the whole-file parse, it does.

use super::super::diag::Source;
use super::super::load::{parse as load, parse_strictly, structs_are_tables};

const HEAD: &str = "name = 'x'\ndescription = 'd'\n";

fn phase(id: &str, command: &str) -> String {
    format!("[[phase]]\nid = '{id}'\n[[phase.step]]\nid = '{id}s'\naction = 'run'\ncommand = {command}\n")
}

fn pieces(text: &str) -> Option<serde_json::Value> {
    super::parse(text, structs_are_tables).map(|p| serde_json::to_value(p).unwrap())
}

/// `load::parse` and the strict whole-file pass agree on `text`, and return whether it loaded.
fn agree(text: &str) -> bool {
    let source = Source::new("plan.toml", text.to_string());
    match (load(&source), parse_strictly(&source)) {
        (Ok(a), Ok(b)) => {
            let json = |p| serde_json::to_value(p).unwrap();
            assert_eq!(json(&a), json(&b), "{text}");
            true
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.styled(), b.styled(), "{text}");
            false
        }
        (a, b) => panic!("pieces {} whole {} for\n{text}", a.is_ok(), b.is_ok()),
    }
}

#[test]
fn a_plan_of_many_phases_is_read_in_pieces_in_order() {
    let mut text = format!("{HEAD}[vars]\npython = 'python3'\n\n");
    for p in 0..5 {
        text += &phase(&format!("p{p}"), "'${python} -c 1'");
        text += "[[phase.gate]]\ncheck = 'r.failed == 0'\n\n";
    }
    text += "[[stage]]\nid = 'dev'\nphases = ['p0']\n";
    let json = pieces(&text).expect("read in pieces");
    let ids: Vec<_> = json["phase"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(ids, ["p0", "p1", "p2", "p3", "p4"]);
    assert_eq!(json["stage"][0]["id"], "dev");
    assert_eq!(json["vars"]["python"], "python3");
    assert!(agree(&text));
}

#[test]
fn a_header_line_inside_a_multi_line_string_is_not_a_cut() {
    for quote in ["\"\"\"", "'''"] {
        let command = format!("{quote}echo\n[[phase]]\nid = 'fake'\n{quote}");
        let text = format!("{HEAD}{}{}", phase("a", &command), phase("b", "'true'"));
        assert!(pieces(&text).is_none(), "{text}");
        assert!(agree(&text));
        let source = Source::new("plan.toml", text.clone());
        let plan = load(&source).unwrap();
        assert_eq!(plan.phases.len(), 2);
    }
}

#[test]
fn a_top_level_table_in_two_pieces_is_left_to_the_whole_parse() {
    // Legal TOML: `[vars]` at the top, one of its entries as a table after the phases.
    let text = format!(
        "{HEAD}[vars]\npython = 'python3'\n{}[vars.api_token]\nvalue = 't'\nsecret = true\n",
        phase("a", "'true'")
    );
    assert!(pieces(&text).is_none());
    assert!(agree(&text));
    // A stage in two pieces: the whole parse appends them.
    let text = format!(
        "{HEAD}{}[[stage]]\nid = 's1'\n{}[[stage]]\nid = 's2'\n",
        phase("a", "'true'"),
        phase("b", "'true'")
    );
    assert!(pieces(&text).is_none());
    assert!(agree(&text));
}

#[test]
fn phases_before_the_first_cut_are_left_to_the_whole_parse() {
    // An inline array of phases cannot be extended by `[[phase]]`: the whole parse refuses it.
    let text = format!("{HEAD}phase = [{{ id = 'a' }}]\n{}", phase("b", "'true'"));
    assert!(pieces(&text).is_none());
    assert!(!agree(&text));
    // Indented headers are not cuts; the plan reads the same.
    let text = format!("{HEAD}  [[phase]]\n  id = 'a'\n{}", phase("b", "'true'"));
    assert!(pieces(&text).is_none());
    assert!(agree(&text));
}

#[test]
fn a_broken_piece_reports_what_the_whole_file_reports() {
    let cases = [
        // A syntax error in a later piece.
        format!(
            "{HEAD}{}{}x = \n",
            phase("a", "'true'"),
            phase("b", "'true'")
        ),
        // An unknown key in a later phase.
        format!(
            "{HEAD}{}{}nope = 1\n",
            phase("a", "'true'"),
            phase("b", "'true'")
        ),
        // A top-level key repeated after the phases.
        format!("{HEAD}{}name = 'again'\n", phase("a", "'true'")),
        // A step given as an array of its fields.
        format!(
            "{HEAD}{}[[phase]]\nid = 'b'\nstep = [['s', 'run']]\n",
            phase("a", "'true'")
        ),
        // An unterminated string at the end.
        format!("{HEAD}{}{}", phase("a", "'true'"), phase("b", "'''true")),
    ];
    for text in cases {
        assert!(pieces(&text).is_none(), "{text}");
        assert!(!agree(&text), "{text}");
    }
}

/// The pieces read on several threads give what one thread gives, phases in the file's order,
/// and every text one thread leaves to the whole-file parse, several leave too: a piece a later
/// thread finds broken, or a top-level key two threads each hold.
#[test]
fn pieces_read_on_several_threads_give_what_one_thread_gives() {
    let read = |text: &str, threads| {
        super::parse_on(text, structs_are_tables, threads).map(|p| serde_json::to_value(p).unwrap())
    };
    let mut text = format!("{HEAD}[vars]\npython = 'python3'\n\n");
    for p in 0..12 {
        text += &phase(&format!("p{p}"), "'${python} -c 1'");
        text += "[[phase.gate]]\ncheck = 'r.failed == 0'\n\n";
    }
    let whole = text.clone() + "[[stage]]\nid = 'dev'\nphases = ['p0']\n";
    let one = read(&whole, 1).expect("read in pieces");
    for threads in [2, 3, 5, 12, 40] {
        assert_eq!(
            read(&whole, threads).as_ref(),
            Some(&one),
            "{threads} threads"
        );
    }
    let ids: Vec<String> = (0..12).map(|p| format!("p{p}")).collect();
    assert_eq!(one["phase"].as_array().unwrap().len(), 12);
    for (phase, id) in one["phase"].as_array().unwrap().iter().zip(&ids) {
        assert_eq!(&phase["id"], id);
    }
    let refused = [
        // The last piece does not parse.
        format!("{text}x = \n"),
        // A stage at the end of the first piece and another at the end of the last.
        text.replacen(
            "[[phase]]\nid = 'p1'",
            "[[stage]]\nid = 's'\n[[phase]]\nid = 'p1'",
            1,
        ) + "[[stage]]\nid = 't'\n",
    ];
    for text in refused {
        for threads in [1, 2, 3, 12] {
            assert_eq!(read(&text, threads), None, "{threads} threads:\n{text}");
        }
    }
}
