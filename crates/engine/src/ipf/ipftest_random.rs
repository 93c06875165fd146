//! The fixed "random" numbers of IPFilter's userland build: `ipf_random` in `ip_fil.c`
//! (the file `ipftest` links instead of the kernel's) returns 0, 4, 3999, 4000, 48999,
//! 49000 on its first six calls and then a fixed non-linear sequence, so that the
//! regression suite's expected outputs can name the ports a `portmap` without
//! `sequential` picks. The kernel's numbers are truly random: only `whyblocked ipftest`
//! turns this on ([`super::nat::NatState::ipftest_random`]); the main answer keeps
//! saying such a port is not known.

/// `ipf_random`'s two static variables: one sequence per `ipftest` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpftestRandom {
    /// `calls`: how many numbers were drawn.
    calls: u32,
    /// `last`: the seed of the sequence after the sixth call.
    last: u32,
}

impl Default for IpftestRandom {
    fn default() -> IpftestRandom {
        IpftestRandom {
            calls: 0,
            last: 0xa5a5_a5a5,
        }
    }
}

impl IpftestRandom {
    /// The next number, as `ipf_random` (`ip_fil.c`) returns it.
    pub fn draw(&mut self) -> u32 {
        self.calls = self.calls.wrapping_add(1);
        match self.calls {
            1 => 0,
            2 => 4,
            3 => 3999,
            4 => 4000,
            5 => 48999,
            6 => 49000,
            calls => {
                let number = self.last;
                self.last = self.last.wrapping_mul(calls).wrapping_add(1);
                number ^ self.last
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IpftestRandom;

    #[test]
    fn follows_ip_fil_c() {
        let mut r = IpftestRandom::default();
        let first: Vec<u32> = (0..8).map(|_| r.draw()).collect();
        // Call 7: last = 0xa5a5a5a5 * 7 + 1; call 8 starts from that.
        let l7 = 0xa5a5_a5a5u32.wrapping_mul(7).wrapping_add(1);
        let l8 = l7.wrapping_mul(8).wrapping_add(1);
        assert_eq!(
            first,
            vec![0, 4, 3999, 4000, 48999, 49000, 0xa5a5_a5a5 ^ l7, l7 ^ l8]
        );
    }
}
