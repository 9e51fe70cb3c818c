//! The report's pictures from synthetic records, without a browser: the
//! scenario × unit matrix of a three-unit combined report, the coverage
//! bars by chapter and the step-latency table and plot (ci/report-screenshot.sh
//! renders real reports in headless Chromium).

use std::path::Path;

use mtg::report::latency;
use mtg::report::merge::{self, RigSummary};
use mtg::report::{html, RunRecord};
use serde_json::json;

/// One scenario result as run.json holds it; `steps` are (command line, ms).
fn result(id: &str, verdict: &str, golden: &str, message: Option<&str>, steps: &[(&str, u64)]) -> serde_json::Value {
    json!({
        "id": id, "title": format!("title of {id}"), "source": "ch. 3", "file": format!("{id}.yaml"),
        "verdict": if verdict == "skipped" { json!({"verdict": verdict, "reason": "target lacks smtp"}) } else { json!({"verdict": verdict}) },
        "message": message, "failed_step": null,
        "basis": if verdict == "fail" { json!("manual") } else { json!(null) },
        "duration_ms": steps.iter().map(|s| s.1).sum::<u64>(), "golden": golden,
        "transcript": format!("transcripts/{id}.txt"),
        "steps": steps.iter().enumerate().map(|(i, (line, ms))| json!({
            "index": i + 1, "origin": format!("{id}.yaml:{}", i + 3), "description": format!("send {line}"), "ms": ms
        })).collect::<Vec<_>>(),
    })
}

/// A unit's record; `manual` is omitted when `None`, as in records written
/// before coverage was kept.
fn unit(name: &str, results: Vec<serde_json::Value>, manual: Option<serde_json::Value>) -> RunRecord {
    let mut v = json!({
        "tool": "mtg test", "started_unix": 0, "target": format!("tcp:127.0.0.1:{name}"), "scenarios_root": "scenarios",
        "finished": true, "interrupted": false, "results": results, "not_run": [], "unit": name,
    });
    if let Some(m) = manual {
        v["manual"] = m;
    }
    serde_json::from_value(v).expect("a record in run.json's form loads")
}

fn three_units() -> Vec<(String, RunRecord)> {
    let mail = [("AT#SENDMAIL1", 40), ("AT+CGATT=1", 900)];
    let u1 = unit(
        "u1",
        vec![
            result("ch3.send", "pass", "matches", None, &mail),
            result("ch2.cmee", "pass", "matches", None, &[("AT+CMEE=1", 2)]),
        ],
        Some(json!([{"chapter": "3", "covered": ["ch3.a"], "pending": ["ch3.b"], "missing": ["ch3.c", "ch3.d"]},
                    {"chapter": "A", "covered": [], "pending": [], "missing": ["appa.x"]}])),
    );
    let u2 = unit(
        "u2",
        vec![
            result(
                "ch3.send",
                "fail",
                "differs",
                Some("step 1: expected \"OK\", got <b>ERROR</b> after AT#APNPW=\"s3cret\""),
                &[("AT#SENDMAIL1", 60), ("AT+CGATT=1", 3000)],
            ),
            result("ch2.cmee", "pass", "differs", None, &[("AT+CMEE=1", 4)]),
        ],
        Some(json!([{"chapter": "3", "covered": ["ch3.c"], "pending": ["ch3.b"], "missing": ["ch3.a", "ch3.d"]}])),
    );
    let u3 = unit(
        "u3",
        vec![
            result("ch3.send", "error", "not-compared", Some("line closed"), &mail),
            result("ch2.cmee", "skipped", "not-compared", None, &[]),
        ],
        None,
    );
    vec![("u1".into(), u1), ("u2".into(), u2), ("u3".into(), u3)]
}

fn combined() -> String {
    let records = three_units();
    let summary = RigSummary {
        tool: "mtg test".into(),
        units: records.iter().map(|(dir, r)| merge::summarise(dir, r)).collect(),
        ..RigSummary::default()
    };
    merge::render(&summary, &records)
}

/// The row of scenario `id` in the matrix.
fn matrix_row<'a>(page: &'a str, id: &str) -> &'a str {
    let matrix = &page[page.find("<table class=\"matrix\">").expect("a matrix")..];
    let start = matrix.find(&format!("<tr><th>{id}</th>")).unwrap_or_else(|| panic!("a row for {id}"));
    let row = &matrix[start..];
    &row[..row.find("</tr>").expect("the row ends")]
}

#[test]
fn the_matrix_has_a_column_per_unit_and_a_cell_per_verdict() {
    let page = combined();
    let header = &page[page.find("<table class=\"matrix\">").unwrap()..];
    let header = &header[..header.find("</thead>").unwrap()];
    assert_eq!(header.matches("<th title=").count(), 3, "{header}");
    let send = matrix_row(&page, "ch3.send");
    // Each cell is coloured by its verdict and links to that unit's transcript.
    let cells: Vec<&str> = send.split("<td ").skip(1).collect();
    assert!(cells[0].starts_with("class=\"m-pass\"") && cells[0].contains("href=\"u1/report.html#ch3.send\">pass<"));
    assert!(cells[1].starts_with("class=\"m-fail\"") && cells[1].contains("href=\"u2/report.html#ch3.send\">fail<"));
    assert!(cells[2].starts_with("class=\"m-error\"") && cells[2].contains(">error<"));
    let cmee = matrix_row(&page, "ch2.cmee");
    assert!(cmee.contains("class=\"m-differs\"") && cmee.contains(">golden differs<"), "{cmee}");
    assert!(cmee.contains("class=\"m-skip\"") && cmee.contains(">skipped<"), "{cmee}");
    // Messages are escaped, and secrets masked, in the cells' tooltips too.
    assert!(send.contains("got &lt;b&gt;ERROR&lt;/b&gt;"), "{send}");
    assert!(!page.contains("s3cret"));
}

#[test]
fn coverage_joins_the_units_by_chapter() {
    let page = combined();
    let section = &page[page.find("<section id=\"coverage\">").expect("a coverage section")..];
    let section = &section[..section.find("</section>").unwrap()];
    // ch3.a (u1) and ch3.c (u2) are covered by the units together; ch3.b is
    // pending, ch3.d and appa.x are not covered; u3's older record adds nothing.
    assert!(section.contains("2 of 5 manual-index entries covered by this run's scenarios, 1 pending, 2 not covered"));
    assert!(section.contains("<svg class=\"coverage-plot\""));
    assert!(section.contains(">chapter 3<") && section.contains(">appendix A<"), "{section}");
    assert!(section.contains("2/4 covered, 1 pending"));
    assert!(section.contains("<title>2 covered: ch3.a, ch3.c</title>"));
    assert!(section.find(">chapter 3<").unwrap() < section.find(">appendix A<").unwrap());
}

#[test]
fn latency_percentiles_per_command_across_units() {
    let records = three_units();
    let rows = latency::per_command(records.iter().map(|(_, r)| r));
    let cgatt = rows.iter().find(|r| r.command == "+CGATT").expect("+CGATT steps");
    // 900, 3000, 900: p50 900, p90 and max 3000.
    assert_eq!((cgatt.steps, cgatt.p50, cgatt.p90, cgatt.p99, cgatt.max), (3, 900, 3000, 3000, 3000));
    let names: Vec<&str> = rows.iter().map(|r| r.command.as_str()).collect();
    assert_eq!(names, ["#SENDMAIL1", "+CGATT", "+CMEE"]);
    let page = combined();
    let section = &page[page.find("<section id=\"latency\">").expect("a latency section")..];
    assert!(section.contains("<svg class=\"latency-plot\""));
    assert!(section.contains(
        "<tr><td><code>+CGATT</code></td><td>3</td><td>900</td><td>3000</td><td>3000</td><td>3000</td></tr>"
    ));
    assert!(section.contains("<title>+CGATT: 3 steps, p50 900 ms, p90 3000 ms, p99 3000 ms, max 3000 ms</title>"));
}

#[test]
fn one_unit_gets_a_single_column_and_says_so() {
    let records = three_units();
    let page = html::render(&records[1].1, Path::new("/nonexistent"), None);
    assert!(page.contains("the matrix is a single column"));
    let send = matrix_row(&page, "ch3.send");
    assert_eq!(send.matches("<td ").count(), 1);
    // On the unit's own page the cell links to the transcript below.
    assert!(send.contains("href=\"#ch3.send\">fail<"), "{send}");
    assert!(page.contains("<section id=\"coverage\">") && page.contains("<section id=\"latency\">"));
    // A record without coverage (older run.json, or no index) says why there is no picture.
    let old = html::render(&records[2].1, Path::new("/nonexistent"), None);
    assert!(old.contains("No manual index was loaded for this run"));
}
