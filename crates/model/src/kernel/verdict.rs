//! Netfilter verdicts as the kernel numbers them (`NF_*` in `netfilter.h`, `NFT_*` in
//! `nf_tables.h`), as its trace events carry them: what a tracer saw, before it is placed
//! on the user's rules (the model's `Verdict` is what a *rule* says).

enum_with_unknown! {
    /// A verdict number in a trace event (`NFTA_VERDICT_CODE`), named as `nft monitor
    /// trace` prints it.
    pub enum NfVerdict(i32) {
        Drop = 0 => "drop",
        Accept = 1 => "accept",
        Stolen = 2 => "stolen",
        Queue = 3 => "queue",
        Repeat = 4 => "repeat",
        Stop = 5 => "stop",
        Continue = -1 => "continue",
        Break = -2 => "break",
        Jump = -3 => "jump",
        Goto = -4 => "goto",
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
