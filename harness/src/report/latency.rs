//! Step latency per command: percentiles of the step times `run.json`
//! records (the time from a step's start to the next step's), grouped by the
//! AT command the step sent, as a table and an inline plot.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::svg::{self, esc, Range};
use super::RunRecord;
use crate::at::command;

/// The percentiles of one command's step times, in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLatency {
    /// `#SENDMAIL1`, `+CGATT`, `+CMEE;+CREG` for a line of several, `AT` for a bare `AT`.
    pub command: String,
    pub steps: usize,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

/// The command a step sent, from its description (`send AT+CGATT=1`,
/// `raw AT#SKTD…`); reset steps (origin `reset`) are the command itself.
/// Steps that send nothing (waits, expectations, emulator controls) have none.
pub fn command_of(origin: &str, description: &str) -> Option<String> {
    let line = description
        .strip_prefix("send ")
        .or_else(|| description.strip_prefix("raw "))
        .or(if origin == "reset" { Some(description) } else { None })?;
    // Raw text may carry several lines; the first command names the step.
    let first = line.split(['\r', '\n']).flat_map(|l| l.split("<CR>")).next().unwrap_or(line);
    let parsed = command::parse_line(first)?;
    let names: Vec<String> = parsed.commands.iter().map(|c| c.name.to_ascii_uppercase()).collect();
    Some(if names.is_empty() { "AT".to_string() } else { names.join(";") })
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: u32) -> u64 {
    let rank = (sorted.len() * p as usize).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

/// Percentiles per command across `runs`, commands in name order.
pub fn per_command<'a>(runs: impl IntoIterator<Item = &'a RunRecord>) -> Vec<CommandLatency> {
    let mut times: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for run in runs {
        for step in run.results.iter().flat_map(|r| &r.steps) {
            if let Some(c) = command_of(&step.origin, &step.description) {
                times.entry(c).or_default().push(step.ms);
            }
        }
    }
    times
        .into_iter()
        .map(|(command, mut v)| {
            v.sort_unstable();
            CommandLatency {
                command,
                steps: v.len(),
                p50: percentile(&v, 50),
                p90: percentile(&v, 90),
                p99: percentile(&v, 99),
                max: v[v.len() - 1],
            }
        })
        .collect()
}

/// Position on the plot's logarithmic axis: step times span from under a
/// millisecond (emulator) to tens of seconds (a unit attaching to GPRS).
fn at(ms: u64, top: u64) -> f64 {
    ((1.0 + ms as f64).ln()) / ((1.0 + top as f64).ln()).max(f64::MIN_POSITIVE)
}

/// The latency section: table and plot, or a sentence when no step sent a command.
pub fn section(rows: &[CommandLatency]) -> String {
    let mut s = String::from("<section id=\"latency\"><h2>Step latency by command</h2>\n");
    if rows.is_empty() {
        s.push_str("<p>No step of this run sent an AT command, so there are no step times to show.</p></section>\n");
        return s;
    }
    s.push_str(
        "<p>Time from a step's start to the next step's (to the scenario's end for the last), \
         nearest-rank percentiles over every step that sent the command. \
         Plot: box from p50 to p90, red ticks at p99 and max, logarithmic axis.</p>\n",
    );
    let top = rows.iter().map(|r| r.max).max().unwrap_or(0).max(1);
    let mut grid = vec![(0.0, "0".to_string())];
    let mut tick = 1u64;
    while tick <= top {
        grid.push((at(tick, top), format!("{tick} ms")));
        tick = tick.saturating_mul(10);
    }
    let plot: Vec<Range> = rows
        .iter()
        .map(|r| Range {
            label: r.command.clone(),
            span: (at(r.p50, top), at(r.p90, top)),
            ticks: vec![(at(r.p99, top), format!("p99 {} ms", r.p99)), (at(r.max, top), format!("max {} ms", r.max))],
            whisker: at(r.max, top),
            title: format!(
                "{}: {} steps, p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
                r.command, r.steps, r.p50, r.p90, r.p99, r.max
            ),
            note: format!("p50 {} · p90 {} · max {} ms", r.p50, r.p90, r.max),
        })
        .collect();
    s.push_str(&svg::ranges("latency-plot", "Step latency by command", &plot, &grid));
    s.push_str(
        "\n<table class=\"latency\"><thead><tr><th>command</th><th>steps</th><th>p50 ms</th><th>p90 ms</th>\
         <th>p99 ms</th><th>max ms</th></tr></thead><tbody>\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.command),
            r.steps,
            r.p50,
            r.p90,
            r.p99,
            r.max
        );
    }
    s.push_str("</tbody></table></section>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_command_a_step_sent() {
        assert_eq!(command_of("x.yaml:3", "send AT#SENDMAIL1=\"a\""), Some("#SENDMAIL1".into()));
        assert_eq!(command_of("x.yaml:3", "send AT+CMEE=1;+CREG=1"), Some("+CMEE;+CREG".into()));
        assert_eq!(command_of("x.yaml:3", "send AT"), Some("AT".into()));
        assert_eq!(command_of("reset", "AT&F"), Some("&F".into()));
        assert_eq!(command_of("x.yaml:3", "wait 100ms"), None);
        assert_eq!(command_of("x.yaml:3", "expect"), None);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!((percentile(&v, 50), percentile(&v, 90), percentile(&v, 99)), (50, 90, 99));
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!((percentile(&[1, 2, 3], 50), percentile(&[1, 2, 3], 90)), (2, 3));
    }
}
