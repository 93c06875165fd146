//! Statements other than rules: `set` options, tables, queues, `antispoof`.

use super::*;

impl<'a> Parser<'a> {
    /// `queue …` (OpenBSD's queues, checked and normalised) or FreeBSD's ALTQ `altq on …`
    /// and the `queue` lines that follow it (kept as their words, macros expanded).
    pub(super) fn queue(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let mut words = Vec::new();
        while let Some(w) = self.next_on_line()? {
            words.push((w.text, w.span));
        }
        self.end_of_statement()?;
        let altq = t.is("altq") || self.saw_altq;
        self.saw_altq = altq;
        let as_written = || {
            let rest: Vec<&str> = words.iter().map(|(w, _)| w.as_str()).collect();
            format!("{} {}", t.text, rest.join(" "))
        };
        let printed = if altq {
            as_written()
        } else {
            let spec = crate::pf::queue::parse(&words, span)
                .map_err(|(at, message)| self.error(at, ErrorKind::Structure { message }))?;
            let printed = crate::pf::queue::text(&spec);
            self.queues.push(spec);
            printed
        };
        items.push(Item::Queue(Opaque {
            origin: self.origin(span),
            printed,
        }));
        Ok(())
    }

    /// pfctl's checks once the file is read: the queue tree, and that every queue a
    /// rule names is defined.
    pub fn check_queues(&self, items: &[Item]) -> PResult<()> {
        if self.queues.is_empty() {
            return Ok(());
        }
        crate::pf::queue::check(&self.queues)
            .map_err(|(at, message)| self.error(at, ErrorKind::Structure { message }))?;
        let defined = |name: &str| self.queues.iter().any(|q| q.name == name);
        for item in items {
            let Item::Rule(rule) = item else { continue };
            if let Some((q, pq)) = &rule.queue {
                for name in std::iter::once(q).chain(pq) {
                    if !defined(name) {
                        return Err(self.error(
                            rule.origin.span,
                            ErrorKind::Undefined {
                                what: "queue".into(),
                                name: name.clone(),
                            },
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn option(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let name = self.string("an option name")?;
        let mut push = |p: &mut Self, o: PfOption| items.push(Item::Option(o, p.origin(span)));
        match name.text.as_str() {
            "skip" => {
                self.expect_word("on")?;
                let list = self.name_list("an interface")?;
                push(self, PfOption::Skip(list));
            }
            "block-policy" => {
                let v = self.next()?;
                let policy = match v.text.as_str() {
                    "drop" => BlockPolicyOption::Drop,
                    "return" => BlockPolicyOption::Return,
                    _ => return Err(self.expected(&v, "`drop` or `return`")),
                };
                self.block_return = policy == BlockPolicyOption::Return;
                push(self, PfOption::BlockPolicy(policy));
            }
            "state-policy" => {
                let v = self.next()?;
                let policy = match v.text.as_str() {
                    "if-bound" => StatePolicy::IfBound,
                    "floating" => StatePolicy::Floating,
                    _ => return Err(self.expected(&v, "`if-bound` or `floating`")),
                };
                push(self, PfOption::StatePolicy(policy));
            }
            "limit" | "timeout" => {
                let mut pairs = Vec::new();
                let braced = self.eat_punct("{")?;
                loop {
                    if braced {
                        self.skip_newlines()?;
                    }
                    let key = self.string("a name")?;
                    if name.text == "timeout" && !names::TIMEOUTS.contains(&key.text.as_str()) {
                        return Err(self.expected(&key, "a timeout name"));
                    }
                    let (value, _) = self.number("a number", 0, u32::MAX)?;
                    pairs.push((key.text, u64::from(value)));
                    if !braced {
                        break;
                    }
                    self.eat_punct(",")?;
                    self.skip_newlines()?;
                    if self.eat_punct("}")? {
                        break;
                    }
                }
                let option = if name.text == "limit" {
                    PfOption::Limit(pairs)
                } else {
                    PfOption::Timeout(pairs)
                };
                push(self, option);
            }
            "optimization" => {
                let v = self.string("an optimization")?;
                push(self, PfOption::Optimization(v.text));
            }
            "ruleset-optimization" => {
                let v = self.string("`none`, `basic` or `profile`")?;
                push(self, PfOption::RulesetOptimization(v.text));
            }
            "loginterface" => {
                let v = self.string("an interface or `none`")?;
                let value = (v.text != "none").then_some(v.text);
                push(self, PfOption::LogInterface(value));
            }
            "hostid" => {
                let (v, span) = self.number("a host id", 0, u32::MAX)?;
                if v == 0 {
                    return Err(self.invalid(span, "hostid", "0", "hostid must be non-zero"));
                }
                push(self, PfOption::HostId(v));
            }
            "debug" => {
                let v = self.string("a debug level")?;
                push(self, PfOption::Debug(v.text));
            }
            "reassemble" => {
                let v = self.next()?;
                let enabled = match v.text.as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(self.expected(&v, "`yes` or `no`")),
                };
                let no_df = self.eat("no-df")?;
                push(self, PfOption::Reassemble { enabled, no_df });
            }
            "fingerprints" => {
                let v = self.string("a file name")?;
                push(self, PfOption::Fingerprints(v.text));
            }
            "state-defaults" => {
                let opts = self.state_opt_list()?;
                self.state_defaults = opts.clone();
                push(self, PfOption::StateDefaults(opts));
            }
            _ => {
                let mut words = Vec::new();
                while let Some(w) = self.next_on_line()? {
                    words.push(w.text);
                }
                let option = match name.text.as_str() {
                    "syncookies" => PfOption::Syncookies(words.join(" ")),
                    _ => PfOption::Other {
                        name: name.text,
                        value: words.join(" "),
                    },
                };
                push(self, option);
            }
        }
        self.end_of_statement()
    }

    pub(super) fn table(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        self.expect_punct("<")?;
        let name = self.string("a table name")?;
        self.expect_punct(">")?;
        let mut table = Table {
            name: name.text,
            persist: false,
            constant: false,
            counters: false,
            entries: Vec::new(),
            files: Vec::new(),
            origin: self.origin(span),
        };
        while let Some(t) = self.next_on_line()? {
            match t.text.as_str() {
                "persist" if t.kind == Kind::Word => table.persist = true,
                "const" if t.kind == Kind::Word => table.constant = true,
                "counters" if t.kind == Kind::Word => table.counters = true,
                "file" if t.kind == Kind::Word => {
                    let file = self.string("a file name")?;
                    match self.env.files.get(&file.text) {
                        // A file given with the configuration is read, as pfctl reads
                        // it: addresses separated by blanks and newlines, `#` comments.
                        Some(text) => {
                            let mut inner = self.nested(file.span, &file.text, text)?;
                            loop {
                                inner.skip_newlines()?;
                                if inner.peek()?.kind == Kind::End {
                                    break;
                                }
                                table.entries.extend(inner.table_entry()?);
                            }
                        }
                        None => table.files.push(file.text),
                    }
                }
                "{" if t.kind == Kind::Punct => loop {
                    self.skip_newlines()?;
                    if self.eat_punct("}")? {
                        break;
                    }
                    table.entries.extend(self.table_entry()?);
                    self.eat_punct(",")?;
                },
                _ => return Err(self.expected(&t, "a table option or `{`")),
            }
        }
        items.push(Item::Table(table));
        self.end_of_statement()
    }

    /// One table entry as written (a name may stand for several addresses); what
    /// pfctl refuses inside a table is refused.
    fn table_entry(&mut self) -> PResult<Vec<TableEntry>> {
        let mut entries = Vec::new();
        for h in self.host(None)? {
            let bad = match &h.host {
                Host::Network { .. } | Host::InterfaceName { .. } | Host::Name(_) => None,
                Host::Range(..) => Some("address ranges are not permitted inside tables"),
                Host::Dynamic { .. } => Some("dynamic addresses are not permitted inside tables"),
                Host::Table(_) => Some("tables cannot contain tables"),
                Host::NoRoute => Some("\"no-route\" is not permitted inside tables"),
                Host::UrpfFailed => Some("\"urpf-failed\" is not permitted inside tables"),
                Host::Any | Host::RouteLabel(_) => Some("not an address"),
            };
            if let Some(reason) = bad {
                let text = self
                    .src
                    .text
                    .get(h.span.start as usize..h.span.end as usize)
                    .unwrap_or("")
                    .to_string();
                return Err(self.invalid(h.span, "table entry", &text, reason));
            }
            entries.push(TableEntry {
                negated: h.negated,
                host: h.host,
            });
        }
        Ok(entries)
    }

    pub(super) fn antispoof(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let mut log = None;
        let mut quick = false;
        loop {
            if self.peek_is("log")? {
                self.next()?;
                log = Some(self.log_opts()?);
            } else if self.eat("quick")? {
                quick = true;
            } else {
                break;
            }
        }
        self.expect_word("for")?;
        let interfaces = self.list(Self::antispoof_if)?;
        let af = self.family()?;
        let mut label = None;
        if self.eat("label")? {
            label = Some(self.string("a label")?.text);
        }
        self.end_of_statement()?;
        // pfctl's antispoof rules drop, whatever `set block-policy` says.
        let mut base = RawRule::new(Action::Block(BlockPolicy::Drop), span);
        base.direction = RuleDirection::In;
        base.log = log;
        base.quick = quick;
        base.af = af;
        base.opts.label = label;
        for (name, dynamic, name_span) in interfaces {
            let hosts = |p: &Self, modifier| -> Option<Vec<RawHost>> {
                if !dynamic {
                    return p.interface_hosts(&name, modifier, None, name_span);
                }
                Some(vec![RawHost {
                    negated: false,
                    host: Host::Dynamic {
                        interface: name.clone(),
                        modifier,
                        prefix: None,
                        af,
                    },
                    af,
                    scope: None,
                    span: name_span,
                }])
            };
            let Some(networks) = hosts(self, DynamicModifier::Network) else {
                return Err(self.invalid(
                    name_span,
                    "interface",
                    &name,
                    "antispoof needs the interface's addresses (not given)",
                ));
            };
            // Packets from the interface's networks may only arrive on it; an interface
            // without addresses has nothing to spoof.
            if !networks.is_empty() {
                let mut rule = base.clone();
                rule.interfaces = vec![InterfaceSpec {
                    negated: true,
                    name: name.clone(),
                }];
                rule.from = networks;
                self.push(rule, items)?;
            }
            // Nor, on any interface, from its own addresses, unless it is a loopback.
            let members = self.env.members(&name);
            let loopback = if members.is_empty() {
                name.strip_prefix("lo")
                    .is_some_and(|unit| unit.bytes().all(|b| b.is_ascii_digit()))
            } else {
                members.iter().all(|i| i.groups.iter().any(|g| g == "lo"))
            };
            if loopback {
                continue;
            }
            let own = hosts(self, DynamicModifier::None).unwrap_or_default();
            if !own.is_empty() {
                let mut rule = base.clone();
                rule.from = own;
                self.push(rule, items)?;
            }
        }
        Ok(())
    }

    /// `IF` or `(IF)` after `antispoof for`.
    pub(super) fn antispoof_if(&mut self) -> PResult<(String, bool, Span)> {
        if self.eat_punct("(")? {
            let t = self.string("an interface")?;
            self.expect_punct(")")?;
            return Ok((t.text, true, t.span));
        }
        let t = self.string("an interface")?;
        Ok((t.text, false, t.span))
    }
}
