//! `queue` definitions (pf's flow and HFSC queues): read enough to check them as
//! pfctl does and to print them as `print_queuespec` does. Queues shape traffic and
//! never decide a verdict, so the ruleset keeps them as text.

use std::fmt::Write;

use model::Span;

/// A bandwidth: bits per second, or a share of the parent's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bandwidth {
    /// Bits per second.
    Bits(u64),
    /// A percentage of the parent's bandwidth.
    Percent(u32),
}

/// A service curve: the rate, and a burst rate for a while.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Curve {
    pub rate: Bandwidth,
    pub burst: Option<(Bandwidth, u32)>,
}

/// One `queue` line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueSpec {
    pub name: String,
    pub interface: Option<String>,
    pub parent: Option<String>,
    pub bandwidth: Option<Curve>,
    pub min: Option<Curve>,
    pub max: Option<Curve>,
    pub flows: Option<u32>,
    pub quantum: Option<u32>,
    pub qlimit: Option<u32>,
    pub default: bool,
    /// Where it was written.
    pub span: Span,
}

/// A queue line that does not read: where, and pfctl's complaint.
pub type QueueError = (Span, String);

fn bandwidth(word: &str, span: Span) -> Result<Bandwidth, QueueError> {
    let digits = word
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(word.len());
    let (number, unit) = word.split_at(digits);
    let value: f64 = number
        .parse()
        .map_err(|_| (span, format!("invalid bandwidth `{word}`")))?;
    let scale = match unit {
        "" | "b" => 1.0,
        "K" | "Kb" => 1e3,
        "M" | "Mb" => 1e6,
        "G" | "Gb" => 1e9,
        "%" if value <= 100.0 => return Ok(Bandwidth::Percent(value as u32)),
        _ => return Err((span, format!("unknown unit `{unit}` in bandwidth `{word}`"))),
    };
    Ok(Bandwidth::Bits((value * scale) as u64))
}

/// Reads the words after `queue` (names, numbers, `on`, `parent`, …).
pub fn parse(words: &[(String, Span)], span: Span) -> Result<QueueSpec, QueueError> {
    let mut q = QueueSpec {
        span,
        ..QueueSpec::default()
    };
    let mut it = words.iter().peekable();
    let Some((name, _)) = it.next() else {
        return Err((span, "a queue needs a name".into()));
    };
    q.name = name.clone();
    let value = |w: Option<&(String, Span)>, what: &str| -> Result<(String, Span), QueueError> {
        w.cloned().ok_or_else(|| (span, format!("{what} expected")))
    };
    let number = |w: Option<&(String, Span)>, what: &str| -> Result<u32, QueueError> {
        let (text, s) = value(w, what)?;
        text.parse()
            .map_err(|_| (s, format!("{what} expected, found `{text}`")))
    };
    while let Some((word, wspan)) = it.next() {
        match word.as_str() {
            "on" => q.interface = Some(value(it.next(), "an interface")?.0),
            "parent" => q.parent = Some(value(it.next(), "a parent queue")?.0),
            "bandwidth" | "min" | "max" => {
                let (text, s) = value(it.next(), "a bandwidth")?;
                let mut curve = Curve {
                    rate: bandwidth(&text, s)?,
                    burst: None,
                };
                if it.peek().is_some_and(|(w, _)| w == "burst") {
                    it.next();
                    let (text, s) = value(it.next(), "a burst bandwidth")?;
                    let burst = bandwidth(&text, s)?;
                    if it.next().is_none_or(|(w, _)| w != "for") {
                        return Err((s, "`for` and a time expected after a burst".into()));
                    }
                    let (time, ts) = value(it.next(), "a time")?;
                    let ms = time
                        .strip_suffix("ms")
                        .unwrap_or(&time)
                        .parse()
                        .map_err(|_| (ts, format!("a time in ms expected, found `{time}`")))?;
                    curve.burst = Some((burst, ms));
                }
                match word.as_str() {
                    "bandwidth" => q.bandwidth = Some(curve),
                    "min" => q.min = Some(curve),
                    _ => q.max = Some(curve),
                }
            }
            "flows" => q.flows = Some(number(it.next(), "a number of flows")?),
            "quantum" => q.quantum = Some(number(it.next(), "a quantum")?),
            "qlimit" => q.qlimit = Some(number(it.next(), "a queue limit")?),
            "default" => q.default = true,
            _ => return Err((*wspan, format!("unknown queue option `{word}`"))),
        }
    }
    if q.interface.is_none() && q.parent.is_none() {
        return Err((span, "a queue needs `on` an interface or a `parent`".into()));
    }
    if q.bandwidth.is_none() && q.flows.is_none() {
        return Err((span, "no bandwidth or flow specification".into()));
    }
    Ok(q)
}

/// pfctl's checks once every queue is read (`pfctl_check_queues`): a parent must be a
/// plain queue, every child queue needs a bandwidth, and a tree with children a default.
pub fn check(queues: &[QueueSpec]) -> Result<(), QueueError> {
    let has_children = |name: &str| queues.iter().any(|c| c.parent.as_deref() == Some(name));
    for q in queues {
        if q.parent.is_some() && q.bandwidth.is_none() {
            return Err((
                q.span,
                format!("queue {}: no bandwidth was specified", q.name),
            ));
        }
        if let Some(parent) = &q.parent {
            if !queues.iter().any(|p| &p.name == parent) {
                return Err((q.span, format!("parent {parent} not found for {}", q.name)));
            }
        }
        if has_children(&q.name) && q.flows.is_some() {
            return Err((q.span, format!("flow queue {} is not a leaf queue", q.name)));
        }
        if has_children(&q.name) && q.default {
            return Err((
                q.span,
                format!("default queue {} is not a leaf queue", q.name),
            ));
        }
    }
    for root in queues.iter().filter(|q| q.parent.is_none()) {
        if has_children(&root.name) && !in_tree_default(queues, &root.name) {
            return Err((root.span, "no default queue specified".into()));
        }
    }
    Ok(())
}

/// Whether `name` or a queue under it is the default.
fn in_tree_default(queues: &[QueueSpec], name: &str) -> bool {
    let mut pending = vec![name.to_string()];
    let mut seen = 0;
    while let Some(n) = pending.pop() {
        seen += 1;
        if seen > queues.len() + 1 {
            return false;
        }
        for q in queues
            .iter()
            .filter(|q| q.name == n || q.parent.as_deref() == Some(&n))
        {
            if q.default {
                return true;
            }
            if q.name != n {
                pending.push(q.name.clone());
            }
        }
    }
    false
}

fn bandwidth_text(prefix: &str, bw: Bandwidth) -> String {
    match bw {
        Bandwidth::Percent(p) => format!("{prefix}{p}%"),
        Bandwidth::Bits(0) => String::new(),
        Bandwidth::Bits(mut rate) => {
            let units = [' ', 'K', 'M', 'G'];
            let mut i = 0;
            while rate >= 1000 && i < 3 && rate % 1000 == 0 {
                rate /= 1000;
                i += 1;
            }
            format!("{prefix}{rate}{}", units[i])
        }
    }
}

fn curve_text(prefix: &str, c: &Curve) -> String {
    let mut s = bandwidth_text(prefix, c.rate);
    if let Some((burst, ms)) = c.burst {
        let _ = write!(s, " burst {} for {ms}ms", bandwidth_text("", burst));
    }
    s
}

/// The line as `print_queuespec` writes it.
pub fn text(q: &QueueSpec) -> String {
    let mut s = format!("queue {}", q.name);
    if let Some(p) = &q.parent {
        let _ = write!(s, " parent {p}");
    } else if let Some(i) = &q.interface {
        let _ = write!(s, " on {i}");
    }
    if let Some(f) = q.flows {
        let _ = write!(s, " flows {f}");
        if let Some(quantum) = q.quantum.filter(|n| *n > 0) {
            let _ = write!(s, " quantum {quantum}");
        }
    }
    if let Some(bw) = &q.bandwidth {
        s.push_str(&curve_text(" bandwidth ", bw));
        if let Some(min) = &q.min {
            s.push_str(&curve_text(", min ", min));
        }
        if let Some(max) = &q.max {
            s.push_str(&curve_text(", max ", max));
        }
    }
    if q.default {
        s.push_str(" default");
    }
    if let Some(l) = q.qlimit.filter(|n| *n > 0) {
        let _ = write!(s, " qlimit {l}");
    }
    s
}
