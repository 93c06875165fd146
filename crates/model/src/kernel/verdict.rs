//! Netfilter verdicts as the kernel numbers them (`NF_*` in `netfilter.h`, `NFT_*` in
//! `nf_tables.h`), as its trace events carry them: what a tracer saw, before it is placed
//! on the user's rules (the model's `Verdict` is what a *rule* says).

enum_with_unknown! {
    /// A verdict number in a trace event (`NFTA_VERDICT_CODE`), named as `nft monitor
    /// trace` prints it.
    pub enum NfVerdict(i32) {
        /// `NF_DROP`: the packet is freed; no later hook sees it.
        Drop = 0 => "drop",
        /// `NF_ACCEPT`: this chain lets the packet go; base chains of the same hook with a
        /// later priority, and later hooks, still see it.
        Accept = 1 => "accept",
        /// `NF_STOLEN`: a hook took the packet over (nft `fwd`, a flowtable's fast path).
        Stolen = 2 => "stolen",
        /// `NF_QUEUE`: the packet goes to a userspace program (`queue`, `-j NFQUEUE`).
        Queue = 3 => "queue",
        /// `NF_REPEAT`: the hook is called again for the same packet.
        Repeat = 4 => "repeat",
        /// `NF_STOP`: accept without calling the remaining hooks (deprecated in the kernel).
        Stop = 5 => "stop",
        /// `NFT_CONTINUE`: the rule did not decide; evaluation goes on with the next rule.
        Continue = -1 => "continue",
        /// `NFT_BREAK`: an expression did not match; the rest of the rule is skipped.
        Break = -2 => "break",
        /// `NFT_JUMP`: evaluation enters another chain and comes back after it.
        Jump = -3 => "jump",
        /// `NFT_GOTO`: evaluation enters another chain and does not come back.
        Goto = -4 => "goto",
        /// `NFT_RETURN`: evaluation returns to the calling chain (or, in a base chain,
        /// takes the chain's policy).
        Return = -5 => "return",
    }
}

impl NfVerdict {
    /// The verdict part of a kernel verdict word: `NF_QUEUE` carries the queue number in
    /// its upper 16 bits (`NF_VERDICT_MASK` is 0xff).
    pub fn from_kernel(word: i32) -> NfVerdict {
        if word >= 0 {
            NfVerdict::from(word & 0xff)
        } else {
            NfVerdict::from(word)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names() {
        assert_eq!(NfVerdict::from(1), NfVerdict::Accept);
        assert_eq!(NfVerdict::from(-3), NfVerdict::Jump);
        assert_eq!(NfVerdict::from_name("return"), Some(NfVerdict::Return));
        assert_eq!(NfVerdict::Unknown(9).to_string(), "9");
        assert_eq!(NfVerdict::from_kernel(0x0005_0003), NfVerdict::Queue);
    }
}
