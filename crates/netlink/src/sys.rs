//! The only module with `unsafe`: thin, safe wrappers over the system calls the oracle needs
//! (`setns`, `socket`, `bind`, `sendto`, `recv`, `setsockopt`, `sigaction`).
//!
//! Contract: every function here takes and returns owned, checked values; no pointer or
//! length escapes. Sockets are [`OwnedFd`]s, closed on drop. A socket keeps the network
//! namespace it was created in, so [`in_netns`] runs a closure on a short-lived thread that
//! joined the namespace, and the sockets it creates can be used from any thread afterwards.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::mem;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cvt_size(ret: libc::ssize_t) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

/// Whether the process runs with effective uid 0.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `f` on a new thread that first joined the network namespace `/run/netns/NAME`.
/// The calling thread's namespace is untouched.
pub fn in_netns<T, F>(name: &str, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    let path = format!("/run/netns/{name}");
    let file = std::fs::File::open(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("open {path}: {e}")))?;
    let handle = std::thread::Builder::new()
        .name(format!("netns-{name}"))
        .spawn(move || -> io::Result<T> {
            // SAFETY: `file` is an open namespace file; setns only changes this thread.
            cvt(unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) })?;
            drop(file);
            f()
        })?;
    handle
        .join()
        .map_err(|_| io::Error::other("namespace thread panicked"))?
}

/// `SO_BINDTODEVICE`: `socket` sends and receives by device `dev` only (as `ping -I dev`
/// binds its sockets).
pub fn bind_to_device(socket: &impl AsRawFd, dev: &str) -> io::Result<()> {
    // SAFETY: the option value is `dev`'s bytes with their exact length; the kernel copies
    // them and keeps no pointer.
    cvt(unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            dev.as_ptr().cast(),
            dev.len() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// The index of interface `name` in the calling thread's network namespace.
pub fn if_nametoindex(name: &str) -> io::Result<u32> {
    let c = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(index)
    }
}

fn socket(domain: libc::c_int, ty: libc::c_int, protocol: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); on success the fd is new and owned by us.
    let fd = cvt(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, protocol) })?;
    // SAFETY: fd was just returned by socket(2) and is not owned elsewhere.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn setsockopt<V: Copy>(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: V,
) -> io::Result<()> {
    // SAFETY: `value` lives for the call and its exact size is passed.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            &value as *const V as *const libc::c_void,
            mem::size_of::<V>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

fn timeval(d: Duration) -> libc::timeval {
    libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    }
}

/// An `AF_PACKET` socket that sends whole Ethernet frames out of one interface. It is opened
/// with protocol 0, so it never receives anything.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
}

impl PacketSocket {
    /// Opens a socket sending out of `ifname` (of the calling thread's namespace).
    pub fn open(ifname: &str) -> io::Result<PacketSocket> {
        let ifindex = if_nametoindex(ifname)?;
        let fd = socket(libc::AF_PACKET, libc::SOCK_RAW, 0)?;
        Ok(PacketSocket { fd, ifindex })
    }

    /// Sends one frame (destination MAC first). Over a veth the receiving namespace
    /// processes the frame before this returns, in the common case.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        if frame.len() < 14 {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = self.ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&frame[..6]);
        sll.sll_protocol = u16::from_be_bytes([frame[12], frame[13]]).to_be();
        // SAFETY: buffer and address are valid for the given lengths.
        let sent = cvt_size(unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr() as *const libc::c_void,
                frame.len(),
                0,
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })?;
        if sent != frame.len() {
            return Err(io::Error::other("short send on packet socket"));
        }
        Ok(())
    }
}

/// A raw IP socket (`IPPROTO_RAW`, header included) for packets generated by the host itself.
#[derive(Debug)]
pub struct RawIpSocket {
    fd: OwnedFd,
    v6: bool,
}

impl RawIpSocket {
    pub fn open(v6: bool) -> io::Result<RawIpSocket> {
        let domain = if v6 { libc::AF_INET6 } else { libc::AF_INET };
        let fd = socket(domain, libc::SOCK_RAW, libc::IPPROTO_RAW)?;
        Ok(RawIpSocket { fd, v6 })
    }

    /// Sets `SO_MARK` on packets sent from now on.
    pub fn set_mark(&self, mark: u32) -> io::Result<()> {
        setsockopt(
            &self.fd,
            libc::SOL_SOCKET,
            libc::SO_MARK,
            mark as libc::c_int,
        )
    }

    /// Sends `packet` (starting with its IP header) towards `dst`.
    pub fn send(&self, packet: &[u8], dst: IpAddr) -> io::Result<()> {
        let sent = match (dst, self.v6) {
            (IpAddr::V4(a), false) => {
                // SAFETY: sockaddr_in is plain data; all-zero is valid.
                let mut sin: libc::sockaddr_in = unsafe { mem::zeroed() };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
                // SAFETY: buffer and address valid for the given lengths.
                cvt_size(unsafe {
                    libc::sendto(
                        self.fd.as_raw_fd(),
                        packet.as_ptr() as *const libc::c_void,
                        packet.len(),
                        0,
                        &sin as *const libc::sockaddr_in as *const libc::sockaddr,
                        mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    )
                })?
            }
            (IpAddr::V6(a), true) => {
                // SAFETY: sockaddr_in6 is plain data; all-zero is valid.
                let mut sin6: libc::sockaddr_in6 = unsafe { mem::zeroed() };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_addr.s6_addr = a.octets();
                // SAFETY: buffer and address valid for the given lengths.
                cvt_size(unsafe {
                    libc::sendto(
                        self.fd.as_raw_fd(),
                        packet.as_ptr() as *const libc::c_void,
                        packet.len(),
                        0,
                        &sin6 as *const libc::sockaddr_in6 as *const libc::sockaddr,
                        mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                    )
                })?
            }
            _ => return Err(io::Error::from(io::ErrorKind::InvalidInput)),
        };
        if sent != packet.len() {
            return Err(io::Error::other("short send on raw socket"));
        }
        Ok(())
    }
}

/// A netlink socket (receive side: multicast groups; send side: requests).
#[derive(Debug)]
pub struct NetlinkSocket {
    fd: OwnedFd,
}

const SOL_NETLINK: libc::c_int = 270;
const NETLINK_ADD_MEMBERSHIP: libc::c_int = 1;
const NETLINK_NO_ENOBUFS: libc::c_int = 5;

impl NetlinkSocket {
    /// Opens and binds a netlink socket of `protocol` (e.g. `NETLINK_NETFILTER` = 12).
    pub fn open(protocol: libc::c_int) -> io::Result<NetlinkSocket> {
        let fd = socket(libc::AF_NETLINK, libc::SOCK_RAW, protocol)?;
        // SAFETY: sockaddr_nl is plain data; all-zero binds with a kernel-chosen port id.
        let mut snl: libc::sockaddr_nl = unsafe { mem::zeroed() };
        snl.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: address valid for its length.
        cvt(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &snl as *const libc::sockaddr_nl as *const libc::sockaddr,
                mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        let sock = NetlinkSocket { fd };
        // Make sure overruns are reported (ENOBUFS), never silently ignored.
        setsockopt(&sock.fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, 0 as libc::c_int)?;
        Ok(sock)
    }

    /// Joins multicast group `group` (a number, not a bit mask).
    pub fn add_membership(&self, group: u32) -> io::Result<()> {
        setsockopt(
            &self.fd,
            SOL_NETLINK,
            NETLINK_ADD_MEMBERSHIP,
            group as libc::c_int,
        )
    }

    /// Sets the receive buffer, past `rmem_max` (`SO_RCVBUFFORCE`, needs CAP_NET_ADMIN);
    /// falls back to `SO_RCVBUF`.
    pub fn set_rcvbuf(&self, bytes: usize) -> io::Result<()> {
        let v = bytes.min(i32::MAX as usize) as libc::c_int;
        setsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, v)
            .or_else(|_| setsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_RCVBUF, v))
    }

    /// Bounds every `recv` by `timeout` (then it fails with `WouldBlock`/`TimedOut`).
    pub fn set_recv_timeout(&self, timeout: Duration) -> io::Result<()> {
        setsockopt(
            &self.fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            timeval(timeout),
        )
    }

    /// Receives one datagram (possibly several netlink messages). `ENOBUFS` means the kernel
    /// dropped messages because the buffer overflowed.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of its length.
        cvt_size(unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
            )
        })
    }

    /// The socket's inode number, as the `Inode` column of `/proc/net/netlink` shows it.
    pub fn inode(&self) -> io::Result<u64> {
        use std::os::unix::fs::MetadataExt;
        let path = format!("/proc/self/fd/{}", self.fd.as_raw_fd());
        Ok(std::fs::metadata(path)?.ino())
    }
}

/// The signal [`StopSignals`] caught last (0: none).
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The handler: one lock-free store, which is async-signal-safe.
extern "C" fn note_stop_signal(signal: libc::c_int) {
    STOP_SIGNAL.store(signal, Ordering::SeqCst);
}

/// A signal that asks a run to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT (Ctrl-C).
    Int,
    /// SIGTERM (`kill`, `timeout`, a service manager).
    Term,
}

/// SIGINT and SIGTERM caught for as long as this lives, whatever disposition was inherited
/// (a shell without job control, as CI runners start jobs, leaves SIGINT ignored): the
/// first one is noted for [`StopSignals::caught`] and resets its signal to the default, so
/// a second one ends the process as usual. Dropping it restores the previous dispositions.
pub struct StopSignals {
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl StopSignals {
    /// Installs the handlers (one set per process at a time: the flag is process-wide).
    pub fn catch() -> io::Result<StopSignals> {
        STOP_SIGNAL.store(0, Ordering::SeqCst);
        let mut previous = Vec::new();
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: zeroed `sigaction`s are valid; the handler has the `sa_handler`
            // signature and only touches an atomic; both pointers are valid for the call.
            unsafe {
                let mut action: libc::sigaction = mem::zeroed();
                action.sa_sigaction = note_stop_signal as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESETHAND;
                cvt(libc::sigemptyset(&mut action.sa_mask))?;
                let mut old: libc::sigaction = mem::zeroed();
                cvt(libc::sigaction(signal, &action, &mut old))?;
                previous.push((signal, old));
            }
        }
        Ok(StopSignals { previous })
    }

    /// The signal caught since [`StopSignals::catch`], if any.
    pub fn caught(&self) -> Option<StopSignal> {
        match STOP_SIGNAL.load(Ordering::SeqCst) {
            libc::SIGINT => Some(StopSignal::Int),
            libc::SIGTERM => Some(StopSignal::Term),
            _ => None,
        }
    }
}

impl Drop for StopSignals {
    fn drop(&mut self) {
        for (signal, old) in &self.previous {
            // SAFETY: `old` is the disposition `sigaction` returned for this signal.
            unsafe {
                libc::sigaction(*signal, old, std::ptr::null_mut());
            }
        }
    }
}

impl std::fmt::Debug for StopSignals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopSignals")
            .field("caught", &self.caught())
            .finish()
    }
}
