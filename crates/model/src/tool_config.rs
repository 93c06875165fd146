//! The firewall tools' own configuration, as a host snapshot recorded it: ufw's
//! `user.rules`, firewalld's zone XML, `ufw status numbered`, `fail2ban-client status`...
//! The `owners` crate reads it to say which tool wrote a rule and what the rule is to it.

use crate::SourceFile;

/// The configuration files and command outputs of the firewall tools on one host.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolConfig {
    /// Each file named by its path on the host (`/etc/ufw/user.rules`) or, for a command's
    /// output, by the command (`ufw status numbered`).
    pub files: Vec<SourceFile>,
}

impl ToolConfig {
    /// The file recorded under `name`, if the snapshot had it.
    pub fn file(&self, name: &str) -> Option<&SourceFile> {
        self.files.iter().find(|f| &*f.name == name)
    }

    /// The files whose names start with `prefix` (`/etc/firewalld/zones/`).
    pub fn files_under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a SourceFile> {
        self.files
            .iter()
            .filter(move |f| f.name.starts_with(prefix))
    }
}
