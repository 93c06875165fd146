//! ufw's record of its user rules: `/etc/ufw/user.rules` and `user6.rules` hold one
//! `### tuple ###` line per `ufw` command, followed by the `-A ufw-user-*` lines ufw
//! generated for it; `ufw status numbered` numbers the IPv4 tuples first, then the IPv6
//! ones, in file order (ufw's `get_rules`; checked against the real ufw 0.36.2).

use model::tool_config::ToolConfig;
use model::Family;

/// Where ufw keeps the user rules of a family.
pub(crate) fn user_rules_path(family: Family) -> &'static str {
    match family {
        Family::Ip6 => "/etc/ufw/user6.rules",
        _ => "/etc/ufw/user.rules",
    }
}

/// One `### tuple ###` line and the rules ufw wrote for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TupleLines {
    /// The tuple as ufw wrote it (after `### tuple ### `).
    pub text: String,
    /// 1-based line of the tuple in its file.
    pub line: u32,
    /// Its number in `ufw status numbered`, when it can be told.
    pub number: Option<usize>,
    /// The `-A` lines that follow it.
    pub rules: Vec<UserLine>,
}

/// One `-A CHAIN ... [-j TARGET]` line of a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserLine {
    /// The chain it appends to (`ufw-user-input`).
    pub chain: String,
    /// The `-j` target, `None` for a rule without one (`limit`'s `-m recent --set`).
    pub target: Option<String>,
}

/// The user rules of both families as far as the snapshot recorded them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct UserRules {
    /// `user.rules`, when recorded.
    pub v4: Option<Vec<TupleLines>>,
    /// `user6.rules`, when recorded.
    pub v6: Option<Vec<TupleLines>>,
}

impl UserRules {
    /// Reads the user rules and numbers them the way `ufw status numbered` does.
    pub fn read(config: &ToolConfig) -> UserRules {
        let file = |family| config.file(user_rules_path(family)).map(|f| parse(&f.text));
        let mut rules = UserRules {
            v4: file(Family::Ip),
            v6: file(Family::Ip6),
        };
        rules.number(listed_numbers(config));
        rules
    }

    /// The tuples of `family`'s file.
    pub fn of(&self, family: Family) -> Option<&[TupleLines]> {
        match family {
            Family::Ip6 => self.v6.as_deref(),
            _ => self.v4.as_deref(),
        }
    }

    /// Numbers the tuples: IPv4 from 1, IPv6 after the last IPv4 one. A recorded
    /// `ufw status numbered` that lists another count than the files hold (the files
    /// changed since, or IPv6 is off) leaves the numbers it cannot confirm unknown.
    fn number(&mut self, listed: Option<usize>) {
        let n4 = self.v4.as_ref().map(Vec::len);
        let n6 = self.v6.as_ref().map(Vec::len);
        let (v4_ok, v6_ok) = match listed {
            None => (true, true),
            Some(l) if Some(l) == n4.zip(n6).map(|(a, b)| a + b) => (true, true),
            // IPv6 off: status lists the IPv4 rules alone.
            Some(l) if Some(l) == n4 => (true, false),
            Some(_) => (false, false),
        };
        if v4_ok {
            for (i, t) in self.v4.iter_mut().flatten().enumerate() {
                t.number = Some(i + 1);
            }
        }
        if let (true, Some(n4)) = (v6_ok, n4) {
            for (i, t) in self.v6.iter_mut().flatten().enumerate() {
                t.number = Some(n4 + i + 1);
            }
        }
    }
}

/// How many rules a recorded `ufw status numbered` lists (`[ N] ...` lines).
fn listed_numbers(config: &ToolConfig) -> Option<usize> {
    let status = config.file("ufw status numbered")?;
    Some(
        status
            .text
            .lines()
            .filter(|l| {
                l.trim_start()
                    .strip_prefix('[')
                    .and_then(|rest| rest.split_once(']'))
                    .is_some_and(|(n, _)| n.trim().parse::<usize>().is_ok())
            })
            .count(),
    )
}

/// The tuples of one user rules file, with the `-A` lines of its `### RULES ###` section.
fn parse(text: &str) -> Vec<TupleLines> {
    let mut tuples: Vec<TupleLines> = Vec::new();
    let mut in_rules = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        match line {
            "### RULES ###" => in_rules = true,
            "### END RULES ###" => in_rules = false,
            _ if !in_rules => {}
            _ => {
                if let Some(tuple) = line.strip_prefix("### tuple ###") {
                    tuples.push(TupleLines {
                        text: tuple.trim().to_string(),
                        line: u32::try_from(i + 1).unwrap_or(u32::MAX),
                        number: None,
                        rules: Vec::new(),
                    });
                } else if let (Some(rest), Some(t)) = (line.strip_prefix("-A "), tuples.last_mut())
                {
                    let mut words = rest.split_whitespace();
                    let chain = words.next().unwrap_or_default().to_string();
                    let target = words.skip_while(|w| *w != "-j").nth(1).map(str::to_string);
                    t.rules.push(UserLine { chain, target });
                }
            }
        }
    }
    tuples
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::SourceFile;

    /// The RULES section the real ufw 0.36.2 wrote for story 1 plus a `limit` and an
    /// `allow 80` (two lines for one tuple).
    const USER_RULES: &str = "*filter\n:ufw-user-input - [0:0]\n### RULES ###\n\n\
### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n\
-A ufw-user-input -p tcp --dport 22 -j ACCEPT\n\n\
### tuple ### limit tcp 2222 0.0.0.0/0 any 0.0.0.0/0 in\n\
-A ufw-user-input -p tcp --dport 2222 -m conntrack --ctstate NEW -m recent --set\n\
-A ufw-user-input -p tcp --dport 2222 -m conntrack --ctstate NEW -m recent --update --seconds 30 --hitcount 6 -j ufw-user-limit\n\
-A ufw-user-input -p tcp --dport 2222 -j ufw-user-limit-accept\n\n\
### tuple ### allow any 80 0.0.0.0/0 any 0.0.0.0/0 in\n\
-A ufw-user-input -p tcp --dport 80 -j ACCEPT\n\
-A ufw-user-input -p udp --dport 80 -j ACCEPT\n\n\
### END RULES ###\n\n### LOGGING ###\n\
-A ufw-after-logging-input -j LOG --log-prefix \"[UFW BLOCK] \"\n### END LOGGING ###\nCOMMIT\n";

    const USER6_RULES: &str = "*filter\n### RULES ###\n\
### tuple ### allow tcp 22 ::/0 any ::/0 in\n\
-A ufw6-user-input -p tcp --dport 22 -j ACCEPT\n### END RULES ###\nCOMMIT\n";

    fn config(files: &[(&str, &str)]) -> ToolConfig {
        ToolConfig {
            files: files.iter().map(|(n, t)| SourceFile::new(*n, *t)).collect(),
        }
    }

    #[test]
    fn tuples_carry_their_rule_lines_and_file_lines() {
        let rules = UserRules::read(&config(&[("/etc/ufw/user.rules", USER_RULES)]));
        let v4 = rules.of(Family::Ip).unwrap_or_else(|| panic!("no v4"));
        assert_eq!(v4.len(), 3);
        assert_eq!(v4[0].text, "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in");
        assert_eq!(v4[0].line, 5);
        let targets: Vec<Option<&str>> = v4[1].rules.iter().map(|r| r.target.as_deref()).collect();
        assert_eq!(
            targets,
            [None, Some("ufw-user-limit"), Some("ufw-user-limit-accept")]
        );
        assert_eq!(v4[2].rules.len(), 2);
        // The LOGGING section's lines belong to no tuple.
        assert!(v4
            .iter()
            .all(|t| t.rules.iter().all(|r| r.chain == "ufw-user-input")));
    }

    #[test]
    fn numbers_run_over_ipv4_then_ipv6() {
        let rules = UserRules::read(&config(&[
            ("/etc/ufw/user.rules", USER_RULES),
            ("/etc/ufw/user6.rules", USER6_RULES),
        ]));
        let numbers = |f| -> Vec<Option<usize>> {
            rules
                .of(f)
                .unwrap_or_default()
                .iter()
                .map(|t| t.number)
                .collect()
        };
        assert_eq!(numbers(Family::Ip), [Some(1), Some(2), Some(3)]);
        assert_eq!(numbers(Family::Ip6), [Some(4)]);
    }

    #[test]
    fn a_status_listing_that_disagrees_leaves_numbers_unknown() {
        let status =
            "Status: active\n\n     To     Action   From\n[ 1] 22/tcp  ALLOW IN  Anywhere\n";
        let rules = UserRules::read(&config(&[
            ("/etc/ufw/user.rules", USER_RULES),
            ("ufw status numbered", status),
        ]));
        let v4 = rules.of(Family::Ip).unwrap_or_default();
        assert!(v4.iter().all(|t| t.number.is_none()));
    }

    #[test]
    fn ipv6_rules_need_the_ipv4_file_to_be_numbered() {
        let rules = UserRules::read(&config(&[("/etc/ufw/user6.rules", USER6_RULES)]));
        assert_eq!(rules.of(Family::Ip6).unwrap_or_default()[0].number, None);
    }
}
