//! The journal log's records: round trips, signatures, torn records, and logs written with the
//! previous FNV-1a sums (read and rolled back).

use super::*;
use crate::journal::record::Journal;
use crate::journal::state::RunMeta;

fn file_entry(path: &str) -> Entry {
    Entry::File {
        path: path.into(),
        before: Before::File { mode: 0o644 },
    }
}

#[test]
fn log_round_trips_records_and_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let id = dir.path().file_name().unwrap().to_str().unwrap();
    let mut log = encode(id, 1, &file_entry("a.txt"), b"old\nbytes").unwrap();
    log.extend(encode(id, 2, &Entry::Dir { path: "d".into() }, b"").unwrap());
    fs::write(dir.path().join(LOG), &log).unwrap();
    let records = read_log(dir.path(), true).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].entry, file_entry("a.txt"));
    assert_eq!(
        read_payload(dir.path(), &records[0]).unwrap(),
        b"old\nbytes"
    );
    assert_eq!(records[1].entry.kind(), DIR);
}

#[test]
fn a_record_signed_for_another_run_or_unsigned_is_foreign() {
    let dir = tempfile::tempdir().unwrap();
    let log = encode("some-other-run", 1, &file_entry("a.txt"), b"x").unwrap();
    fs::write(dir.path().join(LOG), &log).unwrap();
    assert!(matches!(
        read_log(dir.path(), true),
        Err(JournalError::Foreign { .. })
    ));
    let unsigned = String::from_utf8(log).unwrap();
    let (header, rest) = unsigned.split_once('\n').unwrap();
    let mut header: serde_json::Value = serde_json::from_str(header).unwrap();
    header["mac"] = "".into();
    fs::write(dir.path().join(LOG), format!("{header}\n{rest}")).unwrap();
    assert!(matches!(
        read_log(dir.path(), true),
        Err(JournalError::Foreign { .. })
    ));
}

#[test]
fn a_torn_last_record_is_ignored() {
    let good = encode("r", 1, &file_entry("a"), b"0123456789").unwrap();
    let torn = encode("r", 2, &file_entry("b"), b"abcdefghij").unwrap();
    for cut in 1..torn.len() {
        let mut log = good.clone();
        log.extend_from_slice(&torn[..cut]);
        assert_eq!(parse_log(&log, true).0.len(), 1, "cut at {cut}");
    }
    // Extended but never written: the tail reads back as zeros.
    let mut log = good.clone();
    let zeroed = torn.len() - 4;
    log.extend(
        torn.iter()
            .enumerate()
            .map(|(i, b)| if i >= zeroed { 0 } else { *b }),
    );
    assert_eq!(parse_log(&log, true).0.len(), 1);
    assert_eq!(
        parse_log(&log, false).0.len(),
        2,
        "counting skips payload checks"
    );
}

#[test]
fn the_legacy_checksum_is_fnv1a_64() {
    // Reference vectors of 64-bit FNV-1a (as the hand-written sum of earlier logs computed).
    assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn records_are_written_with_a_blake3_sum_only() {
    let record = encode("r", 1, &file_entry("a"), b"payload").unwrap();
    let line = record.split(|b| *b == b'\n').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(line).unwrap();
    assert_eq!(header["b3"], blake3::hash(b"payload").to_hex().as_str());
    assert!(header.get("sum").is_none(), "{header}");
}

#[test]
fn a_payload_swapped_for_one_of_the_same_length_is_refused() {
    let mut log = encode("r", 1, &file_entry("a"), b"0123456789").unwrap();
    let at = log.len() - 10;
    log[at..].copy_from_slice(b"9876543210");
    assert_eq!(parse_log(&log, true).0.len(), 0);
}

/// Rewrites a run's log as the previous planrun wrote it: FNV-1a `sum`, MAC domain v1.
fn to_legacy(run_dir: &Path) {
    let run_id = run_dir.file_name().unwrap().to_str().unwrap();
    let bytes = fs::read(run_dir.join(LOG)).unwrap();
    let (records, _) = parse_log(&bytes, true);
    assert!(!records.is_empty());
    let mut out = Vec::new();
    for record in records {
        let (start, len) = (record.payload.0 as usize, record.payload.1 as usize);
        let payload = &bytes[start..start + len];
        let sum = fnv1a(payload);
        let header = Header {
            seq: record.seq,
            entry: record.entry.clone(),
            len: len as u64,
            b3: None,
            sum: Some(sum),
            mac: record_mac(run_id, record.seq, &record.entry, &Sum::Fnv(sum)).unwrap(),
        };
        out.extend(serde_json::to_vec(&header).unwrap());
        out.push(b'\n');
        out.extend_from_slice(payload);
    }
    fs::write(run_dir.join(LOG), out).unwrap();
}

#[test]
fn a_log_written_with_fnv_sums_is_read_and_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    fs::write(t.join("setup.cfg"), "[tool:pytest]\n").unwrap();
    let meta = RunMeta {
        plan: "legacy".into(),
        plan_path: "plans/legacy.toml".into(),
        plan_hash: String::new(),
    };
    let journal = Journal::begin(t, meta).unwrap();
    journal
        .write_file(
            Path::new("setup.cfg"),
            b"[tool:pytest]\naddopts = -x\n",
            None,
        )
        .unwrap();
    journal
        .write_file(Path::new("conftest.py"), b"import pytest\n", None)
        .unwrap();
    let run_dir = journal.run_dir().to_path_buf();
    drop(journal);
    to_legacy(&run_dir);
    let text = fs::read_to_string(run_dir.join(LOG)).unwrap();
    assert!(
        text.contains("\"sum\":") && !text.contains("\"b3\":"),
        "{text}"
    );
    let records = read_log(&run_dir, true).unwrap();
    assert_eq!(
        read_payload(&run_dir, &records[0]).unwrap(),
        b"[tool:pytest]\n"
    );

    // A torn legacy payload is still recognized.
    let mut torn = fs::read(run_dir.join(LOG)).unwrap();
    let last = torn.len() - 1;
    torn[last] ^= 1;
    assert_eq!(parse_log(&torn, true).0.len(), records.len() - 1);

    crate::journal::replay::rollback_latest(t, Default::default())
        .unwrap()
        .unwrap();
    assert_eq!(
        fs::read_to_string(t.join("setup.cfg")).unwrap(),
        "[tool:pytest]\n"
    );
    assert!(!t.join("conftest.py").exists());
}

#[test]
fn a_legacy_record_cannot_stand_in_for_a_new_one_without_the_key() {
    // The FNV form of a record signed with BLAKE3 keeps the new MAC: the domains differ.
    let dir = tempfile::tempdir().unwrap();
    let id = dir.path().file_name().unwrap().to_str().unwrap();
    let log = encode(id, 1, &file_entry("a.txt"), b"x").unwrap();
    let text = String::from_utf8(log).unwrap();
    let (header, rest) = text.split_once('\n').unwrap();
    let mut header: serde_json::Value = serde_json::from_str(header).unwrap();
    header.as_object_mut().unwrap().remove("b3");
    header["sum"] = fnv1a(b"x").into();
    fs::write(dir.path().join(LOG), format!("{header}\n{rest}")).unwrap();
    assert!(matches!(
        read_log(dir.path(), true),
        Err(JournalError::Foreign { .. })
    ));
}

/// The caches, the tree and the bytecode are appended in one write with one sync: each keeps
/// its own number, and the record after them follows on.
#[test]
fn entries_written_together_are_numbered_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path();
    fs::create_dir_all(target.join(".pytest_cache")).unwrap();
    fs::write(target.join("a.txt"), "a").unwrap();
    let meta = RunMeta {
        plan: "p".into(),
        plan_path: "plans/p.toml".into(),
        plan_hash: String::new(),
    };
    let journal = Journal::begin(target, meta).unwrap();
    let python = target.join("no-python");
    journal.record_caches(|| Some(python)).unwrap();
    journal.record_file(std::path::Path::new("a.txt")).unwrap();
    let records = read_log(journal.run_dir(), true).unwrap();
    let seqs: Vec<u32> = records.iter().map(|r| r.seq).collect();
    let kinds: Vec<&str> = records.iter().map(|r| r.entry.kind()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(kinds, ["caches", "tree", FILE]);
    assert_eq!(journal.last_seq(), 3);
}
