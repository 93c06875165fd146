#!/usr/bin/env bash
# Records the project's own captures of path-MTU trouble (issue 12), for the capture tests
# of crates/evidence and `whyblocked pcap`. Run as root; the kernel-backed test
# (crates/evidence/tests/pmtu_captures.rs) runs it into a scratch directory and checks
# what it recorded the same way as the committed copies.
#
#   scripts/make-pmtu-captures.sh [OUTDIR]   (default: crates/evidence/tests/fixtures/pcap-pmtu)
#   WBP_KEEP=1 keeps the work directory (tcpdump, client and server logs) in /tmp/wbp-last.
#
# Four network namespaces: the client, a firewall, a router whose link to the server has an
# MTU of 1400 (a tunnel, a PPPoE line), and the server:
#
#   wbpC eth0 10.1.1.2 -- lan0 10.1.1.1 [wbpF] wan0 10.1.2.1 -- lan0 10.1.2.2 [wbpR] wan0 10.1.0.1 (mtu 1400) -- eth0 10.1.0.2 wbpS
#        fd00:1::2        fd00:1::1           fd00:3::1        fd00:3::2            fd00:2::1                     fd00:2::2
#
# Every end but the router's wan0 has an MTU of 1500, so both SYNs announce an MSS of 1460
# and the client's full-size segments (1448 bytes of data, 1500 on the wire, DF set) do not
# fit the router's wan0: the router answers each with ICMP "fragmentation needed" (3/4,
# MTU 1400) from 10.1.2.2. The client sends 100 bytes (answered), then 4 KiB.
#
#   pmtu-black-hole     the router drops its own 3/4 toward the client (OUTPUT): the full-size
#                       segment is sent again and again, never acknowledged. Capture: the
#                       firewall's lan0 (the client's side).
#   pmtu-recovers       nothing dropped: the 3/4 reaches the client, which sends 1348-byte
#                       segments from then on; all acknowledged. Capture: lan0.
#   pmtu-not-taken      the 3/4 reaches the client, whose own INPUT drops it: it is captured on
#                       lan0 and the client keeps sending full size.
#   pmtu-one-side       the firewall drops every ICMP it forwards: the 3/4 is captured on its
#                       wan0 and not on its lan0. Capture: both interfaces, one pcapng file.
#   pmtu6-not-taken     pmtu-not-taken over IPv6 (fd00:1::2 to fd00:2::2): ICMPv6 packet too
#                       big (MTU 1400) from fd00:3::2, dropped by the client's ip6tables INPUT.
#
# Beside each capture: CASE.rules (iptables-save of the namespace whose rule made the case,
# or of the router, whose error it is, when none did); router/ is the router's host state
# (`--host`; pmtu-black-hole.rules is its ruleset, the packets arrive on its lan0). Every namespace is named wbp*, made here and deleted on
# exit, failure included; the root namespace's firewall, routes and sysctls are never
# touched; every wait is bounded; only processes started here are stopped, by pid.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/crates/evidence/tests/fixtures/pcap-pmtu}
C=wbpC$$ F=wbpF$$ R=wbpR$$ S=wbpS$$
work=$(mktemp -d /tmp/wbp-captures.XXXXXX)
pids=()

cleanup() {
    set +e
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for n in "$C" "$F" "$R" "$S"; do ip netns del "$n" 2>/dev/null; done
    [ -n "${WBP_KEEP:-}" ] && rm -rf /tmp/wbp-last && cp -r "$work" /tmp/wbp-last
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "make-pmtu-captures.sh: run as root" >&2; exit 2; }
for t in tcpdump iptables iptables-save ip python3 timeout; do
    command -v "$t" >/dev/null || { echo "make-pmtu-captures.sh: needs $t" >&2; exit 2; }
done
mkdir -p "$out"

inC() { ip netns exec "$C" "$@"; }
inF() { ip netns exec "$F" "$@"; }
inR() { ip netns exec "$R" "$@"; }
inS() { ip netns exec "$S" "$@"; }

# --- topology -------------------------------------------------------------------------
for n in "$C" "$F" "$R" "$S"; do
    ip netns add "$n"
    ip netns exec "$n" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
        net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.default.router_solicitations=0
    ip -n "$n" link set lo up
done
ip -n "$C" link add eth0 address 02:00:00:00:01:02 type veth peer name lan0 address 02:00:00:00:01:01 netns "$F"
ip -n "$F" link add wan0 address 02:00:00:00:03:01 type veth peer name lan0 address 02:00:00:00:03:02 netns "$R"
ip -n "$R" link add wan0 address 02:00:00:00:02:01 type veth peer name eth0 address 02:00:00:00:02:02 netns "$S"
ip -n "$R" link set wan0 mtu 1400
# One segment per packet (no TSO/GSO super-packets on the veths): the capture shows what a
# wire would carry.
ip -n "$C" link set eth0 gso_max_segs 1
ip -n "$S" link set eth0 gso_max_segs 1
ip -n "$C" addr add 10.1.1.2/24 dev eth0
ip -n "$F" addr add 10.1.1.1/24 dev lan0
ip -n "$F" addr add 10.1.2.1/24 dev wan0
ip -n "$R" addr add 10.1.2.2/24 dev lan0
ip -n "$R" addr add 10.1.0.1/24 dev wan0
ip -n "$S" addr add 10.1.0.2/24 dev eth0
ip -n "$C" addr add fd00:1::2/64 dev eth0 nodad
ip -n "$F" addr add fd00:1::1/64 dev lan0 nodad
ip -n "$F" addr add fd00:3::1/64 dev wan0 nodad
ip -n "$R" addr add fd00:3::2/64 dev lan0 nodad
ip -n "$R" addr add fd00:2::1/64 dev wan0 nodad
ip -n "$S" addr add fd00:2::2/64 dev eth0 nodad
for l in "$C eth0" "$F lan0" "$F wan0" "$R lan0" "$R wan0" "$S eth0"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n "$C" route add default via 10.1.1.1
ip -n "$F" route add 10.1.0.0/24 via 10.1.2.2
ip -n "$R" route add default via 10.1.2.1
ip -n "$S" route add default via 10.1.0.1
ip -n "$C" -6 route add default via fd00:1::1
ip -n "$F" -6 route add fd00:2::/64 via fd00:3::2
ip -n "$R" -6 route add default via fd00:3::1
ip -n "$S" -6 route add default via fd00:2::1
for n in "$F" "$R"; do
    ip netns exec "$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
        net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.forwarding=1
done
# Static neighbours, so captures hold no ARP.
ip -n "$C" neigh replace 10.1.1.1 lladdr 02:00:00:00:01:01 dev eth0 nud permanent
ip -n "$F" neigh replace 10.1.1.2 lladdr 02:00:00:00:01:02 dev lan0 nud permanent
ip -n "$F" neigh replace 10.1.2.2 lladdr 02:00:00:00:03:02 dev wan0 nud permanent
ip -n "$R" neigh replace 10.1.2.1 lladdr 02:00:00:00:03:01 dev lan0 nud permanent
ip -n "$R" neigh replace 10.1.0.2 lladdr 02:00:00:00:02:02 dev wan0 nud permanent
ip -n "$S" neigh replace 10.1.0.1 lladdr 02:00:00:00:02:01 dev eth0 nud permanent
ip -n "$C" neigh replace fd00:1::1 lladdr 02:00:00:00:01:01 dev eth0 nud permanent
ip -n "$F" neigh replace fd00:1::2 lladdr 02:00:00:00:01:02 dev lan0 nud permanent
ip -n "$F" neigh replace fd00:3::2 lladdr 02:00:00:00:03:02 dev wan0 nud permanent
ip -n "$R" neigh replace fd00:3::1 lladdr 02:00:00:00:03:01 dev lan0 nud permanent
ip -n "$R" neigh replace fd00:2::2 lladdr 02:00:00:00:02:02 dev wan0 nud permanent
ip -n "$S" neigh replace fd00:2::1 lladdr 02:00:00:00:02:01 dev eth0 nud permanent

# The router's host state, for `--host` (its wan0 has the MTU of 1400).
mkdir -p "$out/router"
inR ip -j addr > "$out/router/ip-addr.json"
inR ip -4 -j route show table all > "$out/router/ip-route.json"
inR ip -6 -j route show table all > "$out/router/ip6-route.json"
inR ip -j rule > "$out/router/ip-rule.json"
inR ip -6 -j rule > "$out/router/ip6-rule.json"
inR sysctl -a 2>/dev/null | grep -E '^net\.ipv4\.(ip_forward|ip_no_pmtu_disc|conf\.(all|default|lan0|wan0)\.(rp_filter|forwarding))|^net\.ipv6\.conf\.(all|default|lan0|wan0)\.forwarding' > "$out/router/sysctl.txt"

# --- the server: answers the 100-byte hello, then reads the 4 KiB -----------------------
server='import socket
s=socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,0)
s.bind(("::",8080)); s.listen(4); s.settimeout(60)
while True:
    c,_=s.accept(); c.settimeout(8)
    try:
        got=b""
        while len(got)<100: got+=c.recv(100-len(got)) or b"x"*100
        c.sendall(b"ok\n")
        n=0
        while n<4096:
            d=c.recv(65536)
            if not d: break
            n+=len(d)
        c.sendall(b"done\n")
    except OSError: pass
    c.close()'
# `ip netns exec` execs the command: $! is its own pid, which cleanup can stop.
ip netns exec "$S" timeout 300 python3 -c "$server" >>"$work/server.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do inS ss -ltnH 'sport = :8080' | grep -q 8080 && break; sleep 0.1; done

# The client: 100 bytes, the answer, then 4 KiB; it waits at most 4.5 s for "done" (the
# retransmissions of a black hole come 0.2, 0.6, 1.4 and 3 s after the first sending).
client='import socket,sys
s=socket.create_connection((sys.argv[1],8080),timeout=5)
s.sendall(b"h"*100); s.recv(16)
s.sendall(b"d"*4096); s.settimeout(4.5)
try: print("answer:", s.recv(16))
except OSError as e: print("client:", e)
s.close()'

reset() {
    for n in "$C" "$F" "$R"; do
        for t in iptables ip6tables; do
            ip netns exec "$n" "$t" -F; ip netns exec "$n" "$t" -X
            # Policies set, so that iptables-save writes the (empty) filter table.
            for c in INPUT FORWARD OUTPUT; do ip netns exec "$n" "$t" -P "$c" ACCEPT; done
        done
    done
    # Forget the path MTU learned by the previous case.
    inC ip route flush cache
    inC ip -6 route flush cache
}

# capture CASE SERVER RULES-NS SAVE -- IFACE...: records the firewall's interfaces while the
# client talks to SERVER (IPv6 with a hop-by-hop header, MLD reports, left out: noise);
# one interface gives a pcap, two are merged into one pcapng
# (interface per block). SAVE (iptables-save or ip6tables-save) writes CASE.rules.
capture() {
    local name=$1 server=$2 rules_ns=$3 save=$4; shift 5
    local files=() tps=() i
    for i in "$@"; do
        local log=$work/$name-$i.tcpdump
        ip netns exec "$F" tcpdump -Z root -U --immediate-mode -n -i "$i" -s 128 -w "$work/$name-$i.pcap" 'ip or (ip6 and ip6[6] != 0)' 2>"$log" & tps+=($!)
        pids+=($!)
        files+=("$i=$work/$name-$i.pcap")
        for _ in $(seq 50); do grep -q listening "$log" 2>/dev/null && break; sleep 0.1; done
    done
    echo "$name: $(inC ip route get "$server" | head -1)" >>"$work/client.log"
    inC timeout 20 python3 -c "$client" "$server" >>"$work/client.log" 2>&1 || true
    sleep 1
    for i in "${tps[@]}"; do kill -INT "$i" 2>/dev/null || true; wait "$i" 2>/dev/null || true; done
    # The connection the client gave up on would go on retransmitting into the next case.
    inC ss -K dst "$server" >/dev/null 2>&1 || true
    inS ss -K sport = :8080 >/dev/null 2>&1 || true
    echo "$name: left $(inC ss -tnH | wc -l) client sockets" >>"$work/client.log"
    if [ "${#files[@]}" = 1 ]; then
        cp "${files[0]#*=}" "$out/$name.pcap"
        ext=pcap
    else
        python3 "$here/scripts/pcap-to-pcapng.py" "$out/$name.pcapng" "${files[@]}"
        ext=pcapng
    fi
    ip netns exec "$rules_ns" "$save" | { grep -v '^#' || true; } > "$out/$name.rules"
    echo "$name: $(stat -c %s "$out/$name.$ext") bytes"
}

reset
inR iptables -A OUTPUT -o lan0 -p icmp --icmp-type fragmentation-needed -j DROP
capture pmtu-black-hole 10.1.0.2 "$R" iptables-save -- lan0

reset
capture pmtu-recovers 10.1.0.2 "$R" iptables-save -- lan0

reset
inC iptables -A INPUT -p icmp --icmp-type fragmentation-needed -j DROP
capture pmtu-not-taken 10.1.0.2 "$C" iptables-save -- lan0

reset
inF iptables -A FORWARD -p icmp -j DROP
capture pmtu-one-side 10.1.0.2 "$F" iptables-save -- lan0 wan0

reset
inC ip6tables -A INPUT -p ipv6-icmp --icmpv6-type packet-too-big -j DROP
capture pmtu6-not-taken fd00:2::2 "$C" ip6tables-save -- lan0

cat "$work/client.log"
echo "captures in $out"
