//! The rule grammar: action, direction, `log`, `quick`, `on`, family, protocols,
//! `from`/`to` with ports, and the options after them (state, flags, ICMP types, tags,
//! translation and routing pools).

use super::*;

impl<'a> Parser<'a> {
    pub(super) fn rule(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let mut anchor_name = None;
        let action = match t.text.as_str() {
            "pass" => Action::Pass,
            "match" => Action::Match,
            "block" => Action::Block(self.default_block()),
            _ => {
                let next = self.peek()?;
                if next.kind == Kind::Str
                    || (next.kind == Kind::Word && !is_rule_keyword(&next.text))
                {
                    let name = self.name("an anchor name")?;
                    if name.text.is_empty() {
                        return Err(self.expected(&name, "an anchor name"));
                    }
                    anchor_name = Some(name.text);
                }
                Action::Anchor(AnchorCall {
                    name: anchor_name.clone(),
                    body: None,
                })
            }
        };
        let mut rule = RawRule::new(action, span);
        if let Action::Block(_) = rule.action {
            if let Some(policy) = self.block_answer()? {
                rule.action = Action::Block(policy);
                rule.explicit_block = true;
            }
        }
        self.rule_head(&mut rule)?;
        self.hosts(&mut rule)?;
        self.filter_opts(&mut rule)?;
        if let Action::Anchor(call) = &mut rule.action {
            if rule.opts.keep.is_some() {
                return Err(self.invalid(
                    span,
                    "anchor",
                    "keep state",
                    "cannot specify state handling on anchors",
                ));
            }
            if self.eat_punct("{")? {
                if self.depth >= MAX_DEPTH {
                    return Err(self.error(
                        span,
                        ErrorKind::Structure {
                            message: "anchors nest too deep".into(),
                        },
                    ));
                }
                let mut body = Vec::new();
                self.depth += 1;
                let saved = self.expander.enter_anchor(call.name.as_deref());
                let result = self.statements(&mut body);
                self.expander.leave_anchor(saved);
                self.depth -= 1;
                result?;
                self.expect_punct("}")?;
                call.body = Some(Box::new(Ruleset { items: body }));
            }
        }
        self.end_of_statement()?;
        self.push(rule, items)
    }

    /// `drop`, `return`, `return-rst[(ttl N)]`, `return-icmp[(c[, c6])]`, `return-icmp6[(c)]`.
    pub(super) fn block_answer(&mut self) -> PResult<Option<BlockPolicy>> {
        let t = self.peek()?;
        let policy = match t.text.as_str() {
            "drop" => BlockPolicy::Drop,
            "return" => BlockPolicy::Return,
            "return-rst" => {
                self.next()?;
                let mut ttl = None;
                if self.eat_punct("(")? {
                    self.expect_word("ttl")?;
                    ttl = Some(self.number("a TTL", 0, 255)?.0 as u8);
                    self.expect_punct(")")?;
                }
                return Ok(Some(BlockPolicy::ReturnRst { ttl }));
            }
            "return-icmp" | "return-icmp6" => {
                self.next()?;
                let v6_only = t.text == "return-icmp6";
                let mut code4 = None;
                let mut code6 = None;
                if self.eat_punct("(")? {
                    let first = self.icmp_unreach_code(v6_only)?;
                    if v6_only {
                        code6 = Some(first);
                    } else {
                        code4 = Some(first);
                        if self.eat_punct(",")? {
                            code6 = Some(self.icmp_unreach_code(true)?);
                        }
                    }
                    self.expect_punct(")")?;
                }
                return Ok(Some(BlockPolicy::ReturnIcmp {
                    code4,
                    code6,
                    v6_only,
                }));
            }
            _ => return Ok(None),
        };
        self.next()?;
        Ok(Some(policy))
    }

    pub(super) fn icmp_unreach_code(&mut self, v6: bool) -> PResult<u8> {
        let t = self.next()?;
        let unreach = if v6 { 1 } else { 3 };
        names::icmp_code(unreach, &t.text, v6)
            .ok_or_else(|| self.expected(&t, "an ICMP unreachable code"))
    }

    /// `[in|out] [log …] [quick] [on …] [af] [proto …]`.
    pub(super) fn rule_head(&mut self, rule: &mut RawRule) -> PResult<()> {
        if self.eat("in")? {
            rule.direction = RuleDirection::In;
        } else if self.eat("out")? {
            rule.direction = RuleDirection::Out;
        }
        loop {
            if self.peek_is("log")? {
                self.next()?;
                rule.log = Some(self.log_opts()?);
            } else if self.eat("quick")? {
                rule.quick = true;
            } else {
                break;
            }
        }
        if self.eat("on")? {
            let negated = self.eat_punct("!")?;
            if self.eat("rdomain")? {
                rule.on_rdomain = Some(self.number("a routing domain", 0, 255)?.0);
                if negated {
                    rule.interfaces.push(InterfaceSpec {
                        negated,
                        name: String::new(),
                    });
                }
            } else if negated {
                let t = self.string("an interface")?;
                rule.interfaces.push(InterfaceSpec {
                    negated,
                    name: t.text,
                });
            } else {
                rule.interfaces = self.list(|p| {
                    let negated = p.eat_punct("!")?;
                    let t = p.string("an interface")?;
                    Ok(InterfaceSpec {
                        negated,
                        name: t.text,
                    })
                })?;
            }
        }
        rule.af = self.family()?;
        if self.eat("proto")? {
            rule.protos = self.list(Self::protocol)?;
        }
        Ok(())
    }

    pub(super) fn family(&mut self) -> PResult<Option<Af>> {
        if self.eat("inet")? {
            Ok(Some(Af::Inet))
        } else if self.eat("inet6")? {
            Ok(Some(Af::Inet6))
        } else {
            Ok(None)
        }
    }

    pub(super) fn protocol(&mut self) -> PResult<(u8, Span)> {
        let t = self.string("a protocol")?;
        match names::protocol(&t.text) {
            Some(p) => Ok((p, t.span)),
            None => Err(self.invalid(t.span, "protocol", &t.text, "unknown protocol")),
        }
    }

    /// `log [(all, matches, user, to pflogN)]` after `log`.
    pub(super) fn log_opts(&mut self) -> PResult<Log> {
        let mut log = Log::default();
        if self.eat_punct("(")? {
            loop {
                let t = self.next()?;
                match t.text.as_str() {
                    "all" => log.all = true,
                    "matches" => log.matches = true,
                    "user" => log.user = true,
                    "to" => log.to = Some(self.string("a pflog interface")?.text),
                    _ => return Err(self.expected(&t, "`all`, `matches`, `user` or `to`")),
                }
                if self.eat_punct(")")? {
                    break;
                }
                self.eat_punct(",")?;
            }
        }
        Ok(log)
    }

    /// `all` | `[from …] [to …]`.
    pub(super) fn hosts(&mut self, rule: &mut RawRule) -> PResult<()> {
        if self.eat("all")? {
            return Ok(());
        }
        if self.eat("from")? {
            if !self.peek_is("port")? && !self.peek_is("os")? {
                rule.from = self.ipspec(rule.af)?;
            }
            if self.eat("port")? {
                rule.from_ports = self.port_spec()?;
            }
            if self.eat("os")? {
                rule.os = self.list(|p| Ok(p.string("an OS fingerprint")?.text))?;
            }
        }
        if self.eat("to")? {
            if !self.peek_is("port")? {
                rule.to = self.ipspec(rule.af)?;
            }
            if self.eat("port")? {
                rule.to_ports = self.port_spec()?;
            }
        }
        Ok(())
    }

    /// `any` | host | `{ host, … }`; empty for `any`.
    pub(super) fn ipspec(&mut self, af: Option<Af>) -> PResult<Vec<RawHost>> {
        if self.eat("any")? {
            return Ok(Vec::new());
        }
        Ok(self.list(|p| p.host(af))?.into_iter().flatten().collect())
    }

    /// `port` items: one, or a `{ … }` list.
    pub(super) fn port_spec(&mut self) -> PResult<Vec<(NumOp, Span)>> {
        self.list(|p| p.num_item("a port", &names::port))
    }

    /// `[op] value`, `a:b`, `a >< b`, `a <> b` with `lookup` naming values.
    pub(super) fn num_item(
        &mut self,
        what: &str,
        lookup: &dyn Fn(&str) -> Option<u32>,
    ) -> PResult<(NumOp, Span)> {
        let max = if what == "a port" { 65535 } else { u32::MAX };
        let value = |p: &Self, t: &Token| -> PResult<u32> {
            match lookup(&t.text) {
                Some(v) if v <= max => Ok(v),
                Some(v) => {
                    Err(p.invalid(t.span, "port", &t.text, &format!("illegal port value {v}")))
                }
                // A name the host does not know (`user _pbuild` without `/etc/passwd`,
                // a service missing from the table): named as such, not a syntax error.
                None if t.kind == Kind::Word
                    && t.text
                        .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') =>
                {
                    let what = what.trim_start_matches("a ");
                    let what = if what == "port" { "service" } else { what };
                    Err(p.error(
                        t.span,
                        ErrorKind::Undefined {
                            what: what.into(),
                            name: t.text.clone(),
                        },
                    ))
                }
                None => Err(p.expected(t, what)),
            }
        };
        let t = self.next()?;
        let op = match t.text.as_str() {
            "=" | "!=" | "<" | "<=" | ">" | ">=" if t.kind == Kind::Punct => Some(t.text.clone()),
            _ => None,
        };
        if let Some(op) = op {
            let v = self.next()?;
            let n = value(self, &v)?;
            let span = Span::new(t.span.start as usize, v.span.end as usize);
            let op = match op.as_str() {
                "=" => NumOp::Eq(n),
                "!=" => NumOp::Ne(n),
                "<" => NumOp::Lt(n),
                "<=" => NumOp::Le(n),
                ">" => NumOp::Gt(n),
                _ => NumOp::Ge(n),
            };
            return Ok((op, span));
        }
        if t.kind == Kind::Word {
            if let Some((a, b)) = t.text.split_once(':') {
                let ta = Token {
                    text: a.into(),
                    ..t.clone()
                };
                let tb = Token {
                    text: b.into(),
                    ..t.clone()
                };
                let (a, b) = (value(self, &ta)?, value(self, &tb)?);
                return Ok((NumOp::Range(a, b), t.span));
            }
        }
        let a = value(self, &t)?;
        let next = self.peek()?;
        if next.is_punct("><") || next.is_punct("<>") {
            self.next()?;
            let v = self.next()?;
            let b = value(self, &v)?;
            let span = Span::new(t.span.start as usize, v.span.end as usize);
            let op = if next.text == "><" {
                NumOp::Inside(a, b)
            } else {
                NumOp::Outside(a, b)
            };
            return Ok((op, span));
        }
        Ok((NumOp::Eq(a), t.span))
    }

    /// One user or group item or list.
    pub(super) fn id_spec(&mut self, users: bool) -> PResult<Vec<NumOp>> {
        let env = self.env;
        let unresolved = std::cell::RefCell::new(Vec::new());
        let lookup = |w: &str| -> Option<u32> {
            if w == "unknown" {
                return Some(u32::MAX);
            }
            let table = if users { &env.users } else { &env.groups };
            names::number(w)
                .or_else(|| table.get(w).copied())
                .or_else(|| {
                    let name_like = w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
                    (env.unknown_names_allowed && name_like).then(|| {
                        unresolved.borrow_mut().push(w.to_string());
                        super::super::UNRESOLVED_ID
                    })
                })
        };
        let what = if users { "a user" } else { "a group" };
        let start = self.peek()?.span.start;
        let list = self.list(|p| Ok(p.num_item(what, &lookup)?.0))?;
        let (line, _) = self.src.line_col(start);
        let kind = if users {
            super::super::IdKind::User
        } else {
            super::super::IdKind::Group
        };
        for name in unresolved.into_inner() {
            self.unresolved.push(super::super::UnresolvedName {
                kind,
                name,
                file: self.src.name.to_string(),
                line,
            });
        }
        Ok(list)
    }

    /// The options after the addresses.
    pub(super) fn filter_opts(&mut self, rule: &mut RawRule) -> PResult<()> {
        loop {
            let t = self.peek()?;
            if t.ends_line() || t.is_punct("{") || (t.is_punct("}") && self.depth > 0) {
                return Ok(());
            }
            let t = self.next()?;
            self.filter_opt(t, rule)?;
        }
    }

    pub(super) fn filter_opt(&mut self, t: Token, rule: &mut RawRule) -> PResult<()> {
        let o = &mut rule.opts;
        if t.is_punct("!") {
            let k = self.next()?;
            if k.is("tagged") {
                o.tagged = Some((true, self.tag_name()?));
                return Ok(());
            }
            if k.is("received-on") {
                let name = self.string("an interface")?;
                rule.fixed.received_on = Some(InterfaceSpec {
                    negated: true,
                    name: name.text,
                });
                return Ok(());
            }
            return Err(self.expected(&k, "`tagged` or `received-on`"));
        }
        if t.kind != Kind::Word {
            return Err(self.expected(&t, "a rule option"));
        }
        match t.text.as_str() {
            "user" => {
                let mut list = self.id_spec(true)?;
                list.extend(std::mem::take(&mut rule.opts.users));
                rule.opts.users = list;
            }
            "group" => {
                let mut list = self.id_spec(false)?;
                list.extend(std::mem::take(&mut rule.opts.groups));
                rule.opts.groups = list;
            }
            "flags" => {
                let flags = self.flags()?;
                rule.opts.flags = Some((flags, t.span));
            }
            "icmp-type" | "icmp6-type" => {
                let v6 = t.text == "icmp6-type";
                rule.opts.icmp = self.list(|p| p.icmp_item(v6))?;
            }
            "tos" => {
                let v = self.next()?;
                match names::tos(&v.text) {
                    Some(n) if n <= 255 => rule.fixed.tos = Some(n as u8),
                    _ => return Err(self.expected(&v, "a type of service")),
                }
            }
            "keep" | "modulate" | "synproxy" => {
                self.expect_word("state")?;
                rule.opts.keep = Some(match t.text.as_str() {
                    "keep" => KeepState::Keep,
                    "modulate" => KeepState::Modulate,
                    _ => KeepState::Synproxy,
                });
                if self.peek_punct("(")? {
                    rule.opts.state_opts = self.state_opt_list()?;
                }
            }
            "no" => {
                self.expect_word("state")?;
                rule.opts.keep = Some(KeepState::No);
            }
            "fragment" => rule.fixed.fragment = true,
            "allow-opts" => rule.fixed.allow_opts = true,
            "once" => rule.fixed.once = true,
            "label" => {
                let l = self.name("a label")?;
                if l.text.len() > MAX_TAG {
                    return Err(self.invalid(
                        l.span,
                        "label",
                        &l.text,
                        "label too long, max 63 chars",
                    ));
                }
                rule.opts.label = Some(l.text);
            }
            "tag" => rule.opts.tag = Some(self.tag_name()?),
            "tagged" => rule.opts.tagged = Some((false, self.tag_name()?)),
            "received-on" => {
                let name = self.string("an interface")?;
                rule.fixed.received_on = Some(InterfaceSpec {
                    negated: false,
                    name: name.text,
                });
            }
            "probability" => {
                let v = self.string("a probability")?;
                let (text, scale) = match v.text.strip_suffix('%') {
                    Some(t) => (t, 100.0),
                    None => (v.text.as_str(), 1.0),
                };
                match text.parse::<f64>() {
                    Ok(p) if (0.0..=scale).contains(&p) => rule.fixed.probability = Some(p / scale),
                    _ => {
                        return Err(self.invalid(
                            v.span,
                            "probability",
                            &v.text,
                            "must be 0% - 100%",
                        ))
                    }
                }
            }
            "prio" => rule.fixed.prio = Some(self.prio()?),
            "set" => self.set_opt(rule)?,
            "queue" => rule.fixed.queue = Some(self.queue_names()?),
            "rtable" => rule.fixed.rtable = Some(self.number("a routing table", 0, 255)?.0),
            "max-pkt-rate" => {
                rule.fixed.max_pkt_rate = Some(self.rate()?);
            }
            // FreeBSD's rule identifier (for pflog) and dummynet pipes shape and name
            // traffic; they decide no verdict.
            "ridentifier" => {
                self.number("an identifier", 0, u32::MAX)?;
            }
            "dnpipe" | "dnqueue" => {
                if self.eat_punct("(")? {
                    self.number("a pipe", 0, u32::MAX)?;
                    self.eat_punct(",")?;
                    self.number("a pipe", 0, u32::MAX)?;
                    self.expect_punct(")")?;
                } else {
                    self.number("a pipe", 0, u32::MAX)?;
                }
            }
            "scrub" => rule.fixed.scrub = Some(self.scrub_opts()?),
            "nat-to" => rule.opts.nat_to = Some(self.pool(false)?),
            "rdr-to" => rule.opts.rdr_to = Some(self.pool(false)?),
            "binat-to" => rule.opts.binat_to = Some(self.pool(false)?),
            "af-to" => {
                let af = match self.family()? {
                    Some(af) => af,
                    None => {
                        let t = self.peek()?;
                        return Err(self.expected(&t, "`inet` or `inet6`"));
                    }
                };
                self.expect_word("from")?;
                let from = self.pool(false)?;
                let to = if self.eat("to")? {
                    Some(self.pool(false)?)
                } else {
                    None
                };
                rule.opts.af_to = Some((af, from, to));
            }
            "route-to" | "reply-to" | "dup-to" => {
                let kind = match t.text.as_str() {
                    "route-to" => RouteKind::RouteTo,
                    "reply-to" => RouteKind::ReplyTo,
                    _ => RouteKind::DupTo,
                };
                rule.opts.route = Some((kind, self.pool(true)?));
            }
            "divert-to" => {
                let hosts = self.host(rule.af)?;
                self.expect_word("port")?;
                let (port, end) = self.number("a port", 1, 65535)?;
                self.set_divert(rule, Divert::To(Host::Any, port as u16), t.span.start, end)?;
                rule.opts.divert_hosts = hosts;
            }
            "divert-reply" => self.set_divert(rule, Divert::Reply, t.span.start, t.span)?,
            "divert-packet" => {
                self.expect_word("port")?;
                let (port, end) = self.number("a port", 1, 65535)?;
                self.set_divert(rule, Divert::Packet(port as u16), t.span.start, end)?;
            }
            _ => return Err(self.expected(&t, "a rule option")),
        }
        Ok(())
    }

    pub(super) fn set_divert(
        &self,
        rule: &mut RawRule,
        d: Divert,
        start: u32,
        end: Span,
    ) -> PResult<()> {
        let span = Span::new(start as usize, end.end as usize);
        if rule.opts.divert.is_some() {
            return Err(self.invalid(span, "divert", "divert", "more than one divert option"));
        }
        rule.opts.divert = Some((d, span));
        Ok(())
    }

    pub(super) fn tag_name(&mut self) -> PResult<String> {
        let t = self.name("a tag")?;
        if t.text.len() > MAX_TAG {
            return Err(self.invalid(t.span, "tag", &t.text, "tag too long, max 63 chars"));
        }
        Ok(t.text)
    }

    pub(super) fn prio(&mut self) -> PResult<u8> {
        let t = self.next()?;
        match names::number(&t.text) {
            Some(n) if n <= 7 => Ok(n as u8),
            Some(_) => Err(self.invalid(t.span, "prio", &t.text, "prio must be 0 - 7")),
            None if t.is_punct("-") => Err(self.invalid(t.span, "prio", "-", "prio must be 0 - 7")),
            None => Err(self.expected(&t, "a priority 0 - 7")),
        }
    }

    /// `set prio N | (N, M)`, `set queue Q | (Q, P)`, `set tos T`, `set (…)`.
    pub(super) fn set_opt(&mut self, rule: &mut RawRule) -> PResult<()> {
        let grouped = self.eat_punct("(")?;
        loop {
            let k = self.next()?;
            match k.text.as_str() {
                "prio" => {
                    if self.eat_punct("(")? {
                        let a = self.prio()?;
                        self.eat_punct(",")?;
                        let b = self.prio()?;
                        self.expect_punct(")")?;
                        rule.fixed.set_prio = Some((a, Some(b)));
                    } else {
                        rule.fixed.set_prio = Some((self.prio()?, None));
                    }
                }
                "queue" => rule.fixed.queue = Some(self.queue_names()?),
                "tos" => {
                    let v = self.next()?;
                    match names::tos(&v.text) {
                        Some(n) if n <= 255 => rule.fixed.set_tos = Some(n as u8),
                        _ => return Err(self.expected(&v, "a type of service")),
                    }
                }
                "delay" => {
                    self.number("a delay", 0, u32::from(u16::MAX))?;
                }
                _ => return Err(self.expected(&k, "`prio`, `queue`, `tos` or `delay`")),
            }
            if !grouped {
                return Ok(());
            }
            if self.eat_punct(")")? {
                return Ok(());
            }
            self.expect_punct(",")?;
        }
    }

    pub(super) fn queue_names(&mut self) -> PResult<(String, Option<String>)> {
        if self.eat_punct("(")? {
            let a = self.string("a queue")?;
            let mut b = None;
            if self.eat_punct(",")? {
                b = Some(self.string("a queue")?.text);
            }
            self.expect_punct(")")?;
            return Ok((a.text, b));
        }
        Ok((self.string("a queue")?.text, None))
    }

    /// `N/S` (the lexer gives `N`, `/`, `S`).
    pub(super) fn rate(&mut self) -> PResult<(u32, u32)> {
        let (n, _) = self.number("a count", 0, u32::MAX)?;
        self.expect_punct("/")?;
        let (s, _) = self.number("seconds", 0, u32::MAX)?;
        Ok((n, s))
    }

    /// `flags any`, `flags S/SA`, `flags /SA`.
    pub(super) fn flags(&mut self) -> PResult<TcpFlagsSpec> {
        let t = self.next()?;
        if t.is("any") {
            return Ok(TcpFlagsSpec { set: 0, mask: 0 });
        }
        let (set, slash) = if t.is_punct("/") {
            (0, t)
        } else {
            let set = names::tcp_flags(&t.text).ok_or_else(|| self.expected(&t, "TCP flags"))?;
            (set, self.expect_punct("/")?)
        };
        let m = self.next()?;
        if m.kind != Kind::Word {
            return Err(self.expected(&m, "TCP flags after `/`"));
        }
        let mask = names::tcp_flags(&m.text).ok_or_else(|| self.expected(&m, "TCP flags"))?;
        if set & mask == 0 && set != 0 {
            let span = Span::new(slash.span.start as usize, m.span.end as usize);
            return Err(self.invalid(span, "flags", &m.text, "flags always false"));
        }
        Ok(TcpFlagsSpec { set, mask })
    }

    pub(super) fn icmp_item(&mut self, v6: bool) -> PResult<(IcmpSpec, Span)> {
        let t = self.next()?;
        let icmp_type =
            names::icmp_type(&t.text, v6).ok_or_else(|| self.expected(&t, "an ICMP type"))?;
        let mut code = None;
        let mut end = t.span;
        if self.eat("code")? {
            let c = self.next()?;
            code = Some(
                names::icmp_code(icmp_type, &c.text, v6)
                    .ok_or_else(|| self.expected(&c, "an ICMP code"))?,
            );
            end = c.span;
        }
        let span = Span::new(t.span.start as usize, end.end as usize);
        Ok((
            IcmpSpec {
                v6,
                icmp_type,
                code,
            },
            span,
        ))
    }

    /// `( opt, opt … )` of `keep state` or `set state-defaults`.
    pub(super) fn state_opt_list(&mut self) -> PResult<Vec<StateOpt>> {
        let open = self.peek()?;
        let parens = self.eat_punct("(")?;
        let mut opts = Vec::new();
        let mut global_track = false;
        loop {
            let t = self.next()?;
            let opt = match t.text.as_str() {
                "max" => StateOpt::Max(self.number("a number", 0, u32::MAX)?.0),
                "no-sync" => StateOpt::NoSync,
                "source-track" => {
                    let kind = if self.peek_is("rule")? || self.peek_is("global")? {
                        Some(self.next()?.text)
                    } else {
                        None
                    };
                    global_track = kind.as_deref() == Some("global");
                    StateOpt::SourceTrack(kind)
                }
                "max-src-nodes" => {
                    let (n, span) = self.number("a number", 0, u32::MAX)?;
                    if global_track {
                        return Err(self.invalid(
                            span,
                            "state option",
                            "max-src-nodes",
                            "'max-src-nodes' is incompatible with 'source-track global'",
                        ));
                    }
                    StateOpt::MaxSrcNodes(n)
                }
                "max-src-states" => StateOpt::MaxSrcStates(self.number("a number", 0, u32::MAX)?.0),
                "max-src-conn" => StateOpt::MaxSrcConn(self.number("a number", 0, u32::MAX)?.0),
                "max-src-conn-rate" => {
                    let (n, s) = self.rate()?;
                    StateOpt::MaxSrcConnRate(n, s)
                }
                "overload" => {
                    self.expect_punct("<")?;
                    let name = self.string("a table name")?;
                    self.expect_punct(">")?;
                    let flush = self.eat("flush")?;
                    let global = flush && self.eat("global")?;
                    StateOpt::Overload {
                        table: name.text,
                        flush,
                        global,
                    }
                }
                "if-bound" => StateOpt::Policy(StatePolicy::IfBound),
                "floating" => StateOpt::Policy(StatePolicy::Floating),
                "pflow" => StateOpt::Pflow,
                "sloppy" => StateOpt::Sloppy,
                name if names::TIMEOUTS.contains(&name) => {
                    StateOpt::Timeout(name.to_string(), self.number("seconds", 0, u32::MAX)?.0)
                }
                _ => return Err(self.expected(&t, "a state option")),
            };
            opts.push(opt);
            if !parens {
                return Ok(opts);
            }
            if self.eat_punct(")")? {
                return Ok(opts);
            }
            self.skip_newlines()?;
            if !self.eat_punct(",")? {
                let t = self.peek()?;
                return Err(self.expected(&t, "`,` or `)`"));
            }
            self.skip_newlines()?;
            let _ = &open;
        }
    }

    /// `scrub (no-df min-ttl N max-mss N random-id reassemble tcp set-tos T)`.
    pub(super) fn scrub_opts(&mut self) -> PResult<Scrub> {
        self.expect_punct("(")?;
        let mut s = Scrub::default();
        loop {
            let t = self.next()?;
            let again = |p: &Self, what: &str| {
                p.invalid(
                    t.span,
                    "scrub option",
                    what,
                    &format!("{what} cannot be respecified"),
                )
            };
            match t.text.as_str() {
                "no-df" => {
                    if s.no_df {
                        return Err(again(self, "no-df"));
                    }
                    s.no_df = true;
                }
                "random-id" => {
                    if s.random_id {
                        return Err(again(self, "random-id"));
                    }
                    s.random_id = true;
                }
                "min-ttl" => {
                    if s.min_ttl.is_some() {
                        return Err(again(self, "min-ttl"));
                    }
                    s.min_ttl = Some(self.limited("min-ttl", "a TTL", 255)? as u8);
                }
                "max-mss" => {
                    if s.max_mss.is_some() {
                        return Err(again(self, "max-mss"));
                    }
                    s.max_mss = Some(self.limited("max-mss", "an MSS", 65535)? as u16);
                }
                "reassemble" => {
                    self.expect_word("tcp")?;
                    if s.reassemble_tcp {
                        return Err(again(self, "reassemble tcp"));
                    }
                    s.reassemble_tcp = true;
                }
                "set-tos" => {
                    let v = self.next()?;
                    s.set_tos = names::tos(&v.text).filter(|n| *n <= 255).map(|n| n as u8);
                    if s.set_tos.is_none() {
                        return Err(self.expected(&v, "a type of service"));
                    }
                }
                _ => return Err(self.expected(&t, "a scrub option")),
            }
            if self.eat_punct(")")? {
                return Ok(s);
            }
            self.eat_punct(",")?;
        }
    }

    /// A translation or routing target with its options.
    pub(super) fn pool(&mut self, routing: bool) -> PResult<RawPool> {
        let start = self.peek()?.span;
        let mut pool = RawPool {
            listed: self.peek_punct("{")?,
            ..RawPool::default()
        };
        let members = self.list(|p| p.pool_host(routing))?;
        for (host, interface) in members.into_iter().flatten() {
            pool.hosts.push(host);
            pool.interfaces.push(interface);
        }
        loop {
            let t = self.peek()?;
            match t.text.as_str() {
                "port" if !routing => {
                    self.next()?;
                    let v = self.next()?;
                    let (a, b) = v.text.split_once(':').unwrap_or((&v.text, ""));
                    let lo = names::port(a)
                        .filter(|p| *p <= 65535)
                        .ok_or_else(|| self.expected(&v, "a port"))?;
                    let hi = if b == "*" {
                        pool.port_star = true;
                        lo
                    } else if b.is_empty() {
                        lo
                    } else {
                        names::port(b)
                            .filter(|p| *p <= 65535)
                            .ok_or_else(|| self.expected(&v, "a port"))?
                    };
                    pool.ports = Some((lo as u16, hi as u16));
                }
                "bitmask" => pool.kind = Some(self.pool_kind(PoolType::Bitmask)?),
                "random" => pool.kind = Some(self.pool_kind(PoolType::Random)?),
                "round-robin" => pool.kind = Some(self.pool_kind(PoolType::RoundRobin)?),
                "least-states" => pool.kind = Some(self.pool_kind(PoolType::LeastStates)?),
                "source-hash" => {
                    pool.kind = Some(self.pool_kind(PoolType::SourceHash)?);
                    let k = self.peek()?;
                    if k.kind == Kind::Word && !is_rule_keyword(&k.text) {
                        pool.hash_key = Some(self.next()?.text);
                    }
                }
                "sticky-address" => {
                    self.next()?;
                    pool.sticky = true;
                }
                "static-port" if !routing => {
                    self.next()?;
                    pool.static_port = true;
                }
                _ => break,
            }
        }
        let end = self.lx.peek().map(|t| t.span.start).unwrap_or(start.end);
        pool.span = Span::new(start.start as usize, (end.max(start.end)) as usize);
        Ok(pool)
    }

    pub(super) fn pool_kind(&mut self, kind: PoolType) -> PResult<PoolType> {
        self.next()?;
        Ok(kind)
    }

    /// One pool member: a host, or `(IF [host])` for routing.
    pub(super) fn pool_host(&mut self, routing: bool) -> PResult<Vec<(RawHost, Option<String>)>> {
        if routing && self.peek_punct("(")? {
            // `(if addr)` is routing's form; `(if)` alone is a dynamic address.
            let open = self.next()?;
            let name = self.string("an interface")?;
            if self.eat_punct(")")? {
                let (base, modifier) = self.split_modifiers(&name)?;
                let host = RawHost {
                    negated: false,
                    host: Host::Dynamic {
                        interface: base,
                        modifier,
                        prefix: None,
                        af: None,
                    },
                    af: None,
                    scope: None,
                    span: Span::new(open.span.start as usize, name.span.end as usize + 1),
                };
                return Ok(vec![(host, None)]);
            }
            let hosts = self.host(None)?;
            self.expect_punct(")")?;
            return Ok(hosts
                .into_iter()
                .map(|h| (h, Some(name.text.clone())))
                .collect());
        }
        let hosts = self.host(None)?;
        // `weight N` biases round-robin among the members; which member a pool gives is
        // pf's counter state anyway, never known offline, so the set is what counts.
        if self.eat("weight")? {
            self.number("a weight", 1, 65535)?;
        }
        Ok(hosts.into_iter().map(|h| (h, None)).collect())
    }
}

/// Words that start a rule part, so an anchor name or a hash key cannot be one.
fn is_rule_keyword(w: &str) -> bool {
    matches!(
        w,
        "in" | "out"
            | "log"
            | "quick"
            | "on"
            | "inet"
            | "inet6"
            | "proto"
            | "from"
            | "to"
            | "all"
            | "user"
            | "group"
            | "flags"
            | "icmp-type"
            | "icmp6-type"
            | "tos"
            | "keep"
            | "modulate"
            | "synproxy"
            | "no"
            | "fragment"
            | "allow-opts"
            | "label"
            | "tag"
            | "tagged"
            | "sticky-address"
            | "static-port"
            | "port"
            | "once"
            | "rtable"
            | "probability"
            | "prio"
            | "set"
            | "queue"
            | "received-on"
            | "nat-to"
            | "rdr-to"
            | "binat-to"
            | "af-to"
            | "route-to"
            | "reply-to"
            | "dup-to"
            | "divert-to"
            | "divert-reply"
            | "divert-packet"
            | "scrub"
            | "max-pkt-rate"
    )
}
