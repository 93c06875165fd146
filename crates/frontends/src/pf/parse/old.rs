//! FreeBSD's (and OpenBSD's before 4.7) translation and scrub rules: `[no] nat|rdr|binat`,
//! `scrub`, `nat-anchor`/`rdr-anchor`/`binat-anchor`.

use super::*;

impl<'a> Parser<'a> {
    /// `[no] nat|rdr|binat [pass [log]] [on IF] [af] [proto] from … to … [tag] [tagged]
    /// [-> pool]`.
    pub(super) fn old_translation(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let no = t.is("no");
        let word = if no { self.next()? } else { t };
        let kind = match word.text.as_str() {
            "nat" => OldNatKind::Nat,
            "rdr" => OldNatKind::Rdr,
            "binat" => OldNatKind::Binat,
            _ => return Err(self.expected(&word, "`nat`, `rdr` or `binat`")),
        };
        let mut rule = RawRule::new(Action::OldNat { kind, no }, span);
        if self.eat("pass")? {
            rule.translation_pass = true;
        }
        if self.peek_is("log")? {
            self.next()?;
            rule.log = Some(self.log_opts()?);
        }
        self.rule_head(&mut rule)?;
        self.hosts(&mut rule)?;
        loop {
            if self.eat("tag")? {
                rule.opts.tag = Some(self.tag_name()?);
            } else if self.eat("tagged")? {
                rule.opts.tagged = Some((false, self.tag_name()?));
            } else if self.eat("rtable")? {
                rule.fixed.rtable = Some(self.number("a routing table", 0, 255)?.0);
            } else {
                break;
            }
        }
        if self.eat_punct("->")? {
            if no {
                let t = self.peek()?;
                return Err(self.expected(&t, "the end of a `no` rule (it translates nothing)"));
            }
            let pool = self.pool(false)?;
            match kind {
                OldNatKind::Rdr => rule.opts.rdr_to = Some(pool),
                OldNatKind::Nat | OldNatKind::Binat => rule.opts.nat_to = Some(pool),
            }
        } else if !no {
            let t = self.peek()?;
            return Err(self.expected(&t, "`->` and the translation address"));
        }
        self.end_of_statement()?;
        self.push(rule, items)
    }

    /// `scrub [in|out] [log] [on IF] [af] [proto] from … to … [options]`.
    pub(super) fn old_scrub(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let mut rule = RawRule::new(Action::Scrub, span);
        self.rule_head(&mut rule)?;
        self.hosts(&mut rule)?;
        let mut scrub = Scrub::default();
        while let Some(t) = self.next_on_line()? {
            match t.text.as_str() {
                "no-df" => scrub.no_df = true,
                "random-id" => scrub.random_id = true,
                "min-ttl" => scrub.min_ttl = Some(self.limited("min-ttl", "a TTL", 255)? as u8),
                "max-mss" => scrub.max_mss = Some(self.limited("max-mss", "an MSS", 65535)? as u16),
                "set-tos" => {
                    let v = self.next()?;
                    scrub.set_tos = names::tos(&v.text).filter(|n| *n <= 255).map(|n| n as u8);
                    if scrub.set_tos.is_none() {
                        return Err(self.expected(&v, "a type of service"));
                    }
                }
                "reassemble" => {
                    self.expect_word("tcp")?;
                    scrub.reassemble_tcp = true;
                }
                "fragment" => {
                    let how = self.next()?;
                    if !matches!(how.text.as_str(), "reassemble" | "crop" | "drop-ovl") {
                        return Err(self.expected(&how, "`reassemble`, `crop` or `drop-ovl`"));
                    }
                    scrub.fragment = Some(how.text);
                }
                "(" if t.kind == Kind::Punct => {
                    self.lx.push_back(t);
                    scrub = self.scrub_opts()?;
                }
                _ => return Err(self.expected(&t, "a scrub option")),
            }
        }
        rule.fixed.scrub = Some(scrub);
        self.end_of_statement()?;
        self.push(rule, items)
    }

    /// `nat-anchor|rdr-anchor|binat-anchor NAME [on IF] [af] [proto] [from … to …]`.
    pub(super) fn old_anchor(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let kind = match t.text.as_str() {
            "nat-anchor" => OldNatKind::Nat,
            "rdr-anchor" => OldNatKind::Rdr,
            _ => OldNatKind::Binat,
        };
        let name = self.name("an anchor name")?;
        let call = AnchorCall {
            name: Some(name.text),
            body: None,
        };
        let mut rule = RawRule::new(Action::OldNatAnchor { kind, call }, span);
        self.rule_head(&mut rule)?;
        self.hosts(&mut rule)?;
        self.end_of_statement()?;
        self.push(rule, items)
    }
}
