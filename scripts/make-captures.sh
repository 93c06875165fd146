#!/usr/bin/env bash
# Records the project's own packet captures of real connection failures, for the capture
# tests of crates/evidence (and `whyblocked pcap`). Run as root; the tests never run it:
# they read what it committed.
#
#   scripts/make-captures.sh [OUTDIR]     (default: crates/evidence/tests/fixtures/pcap)
#   WBC_KEEP=1 keeps the work directory (tcpdump and client logs) in /tmp/wbc-last.
#   WBC_ONLY=story1-ufw records only the user story 1 capture (below), leaving the others.
#
# Three network namespaces, client - router - server, as in user story 1:
#
#   wbcC eth0 10.1.1.2/24 fd00:1::2/64 -- lan0 10.1.1.1 fd00:1::1 [wbcR] wan0 10.1.0.1 fd00:2::1 -- eth0 10.1.0.2 fd00:2::2 wbcS
#
# tcpdump listens on the router's lan0 (the capture point: `whyblocked pcap --at lan0`).
# Each case loads its rules into the router, makes one failure happen and writes
# OUTDIR/CASE.pcap and the router's ruleset at that moment as OUTDIR/CASE.rules
# (iptables-save or ip6tables-save). The router's host state (addresses, routes, sysctls)
# goes to OUTDIR/router/ for `--host`. Every namespace is named wbc*, made here and deleted
# on exit, failure included; the root namespace's firewall, routes and sysctls are never
# touched; every wait is bounded; only processes started here are stopped, by pid.
#
# story1-ufw (user story 1 with the real ufw ruleset) has a topology of its own, because the
# router's interfaces must carry the names of examples/ufw-router/host:
#
#   wbcUC eth0 10.1.1.2/24 -- tap0 10.1.1.1 [wbcUR] eno1 10.1.0.1 -- eth0 10.1.0.2 wbcUS
#
# The router runs examples/ufw-router/iptables-save.txt (iptables-restore); the client, from
# port 1050 as in the story's log line, connects to 10.1.0.2:2175 (refused by
# ufw-reject-forward: ICMP port unreachable from 10.1.1.1) and pings 10.1.0.2 (allowed by
# ufw-before-forward). tcpdump on tap0: `whyblocked pcap story1-ufw.pcap --rules
# examples/ufw-router/iptables-save.txt --host examples/ufw-router/host --at tap0`.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/crates/evidence/tests/fixtures/pcap}
C=wbcC$$ R=wbcR$$ S=wbcS$$
UC=wbcUC$$ UR=wbcUR$$ US=wbcUS$$
only=${WBC_ONLY:-}
work=$(mktemp -d /tmp/wbc-captures.XXXXXX)
pids=()

cleanup() {
    set +e
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for n in "$C" "$R" "$S" "$UC" "$UR" "$US"; do ip netns del "$n" 2>/dev/null; done
    [ -n "${WBC_KEEP:-}" ] && cp -r "$work" /tmp/wbc-last; rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() { command -v "$1" >/dev/null 2>&1 || { apt-get install -y "$2" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$2" >/dev/null; }; }; }
need tcpdump tcpdump
need nft nftables
need iptables iptables
need openssl openssl
need ip iproute2
need ping iputils-ping
need conntrack conntrack
need python3 python3

[ "$(id -u)" = 0 ] || { echo "make-captures.sh: run as root" >&2; exit 2; }
case "$only" in ""|story1-ufw) ;; *) echo "make-captures.sh: WBC_ONLY must be story1-ufw" >&2; exit 2;; esac
mkdir -p "$out/router"

# --- user story 1: the real ufw ruleset on a router with tap0/eno1 ------------------------
story1_ufw() {
    local n log tp
    for n in "$UC" "$UR" "$US"; do
        ip netns add "$n"
        ip -n "$n" link set lo up
    done
    # The MAC addresses of examples/ufw-router (tap0, eno1) and of the story's ufw.log line.
    ip -n "$UC" link add eth0 address 52:54:00:65:43:21 type veth peer name tap0 address 1a:a0:0e:97:bf:63 netns "$UR"
    ip -n "$US" link add eth0 address 52:54:00:aa:bb:cc type veth peer name eno1 address 3a:ef:98:ba:7c:21 netns "$UR"
    ip -n "$UC" addr add 10.1.1.2/24 dev eth0
    ip -n "$UR" addr add 10.1.1.1/24 dev tap0
    ip -n "$UR" addr add 10.1.0.1/24 dev eno1
    ip -n "$US" addr add 10.1.0.2/24 dev eth0
    ip -n "$UC" link set eth0 up; ip -n "$UR" link set tap0 up; ip -n "$UR" link set eno1 up; ip -n "$US" link set eth0 up
    ip -n "$UC" route add default via 10.1.1.1
    ip -n "$US" route add default via 10.1.0.1
    ip netns exec "$UR" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
        net.ipv4.conf.tap0.rp_filter=0 net.ipv4.conf.eno1.rp_filter=0
    ip -n "$UC" neigh replace 10.1.1.1 lladdr 1a:a0:0e:97:bf:63 dev eth0 nud permanent
    ip -n "$UR" neigh replace 10.1.1.2 lladdr 52:54:00:65:43:21 dev tap0 nud permanent
    ip -n "$UR" neigh replace 10.1.0.2 lladdr 52:54:00:aa:bb:cc dev eno1 nud permanent
    ip -n "$US" neigh replace 10.1.0.1 lladdr 3a:ef:98:ba:7c:21 dev eth0 nud permanent
    ip netns exec "$UR" iptables-restore < "$here/examples/ufw-router/iptables-save.txt"
    log=$work/story1-ufw.tcpdump
    ip netns exec "$UR" tcpdump -Z root -U --immediate-mode -n -i tap0 -s 256 -w "$out/story1-ufw.pcap" 'ip' 2>"$log" & tp=$!
    pids+=($tp)
    for _ in $(seq 50); do grep -q listening "$log" 2>/dev/null && break; sleep 0.1; done
    # The SYN from port 1050, refused at once by the ICMP error (ECONNREFUSED), then one ping.
    ip netns exec "$UC" timeout 10 python3 -c 'import socket
s=socket.socket(); s.bind(("10.1.1.2",1050)); s.settimeout(5)
try: s.connect(("10.1.0.2",2175))
except OSError as e: print("connect:", e)' >>"$work/client.log" 2>&1 || true
    ip netns exec "$UC" timeout 10 ping -n -c 1 -W 2 10.1.0.2 >>"$work/client.log" 2>&1 || true
    sleep 1
    kill -INT "$tp" 2>/dev/null || true
    wait "$tp" 2>/dev/null || true
    ip netns exec "$UR" iptables-save -c > "$out/story1-ufw.rules"
    for n in "$UC" "$UR" "$US"; do ip netns del "$n"; done
    echo "story1-ufw: $(stat -c %s "$out/story1-ufw.pcap") bytes"
}
if [ "$only" = story1-ufw ]; then
    story1_ufw
    echo "captures in $out"
    exit 0
fi

inC() { ip netns exec "$C" "$@"; }
inR() { ip netns exec "$R" "$@"; }
inS() { ip netns exec "$S" "$@"; }

# --- topology -------------------------------------------------------------------------
for n in "$C" "$R" "$S"; do
    ip netns add "$n"
    ip netns exec "$n" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
        net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.default.router_solicitations=0
    ip -n "$n" link set lo up
done
ip -n "$C" link add eth0 address 02:00:00:00:01:02 type veth peer name lan0 address 02:00:00:00:01:01 netns "$R"
ip -n "$S" link add eth0 address 02:00:00:00:02:02 type veth peer name wan0 address 02:00:00:00:02:01 netns "$R"
ip -n "$C" addr add 10.1.1.2/24 dev eth0
ip -n "$C" addr add fd00:1::2/64 dev eth0 nodad
ip -n "$R" addr add 10.1.1.1/24 dev lan0
ip -n "$R" addr add fd00:1::1/64 dev lan0 nodad
ip -n "$R" addr add 10.1.0.1/24 dev wan0
ip -n "$R" addr add fd00:2::1/64 dev wan0 nodad
ip -n "$S" addr add 10.1.0.2/24 dev eth0
ip -n "$S" addr add fd00:2::2/64 dev eth0 nodad
for l in "$C eth0" "$R lan0" "$R wan0" "$S eth0"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n "$C" route add default via 10.1.1.1
ip -n "$C" -6 route add default via fd00:1::1
ip -n "$S" route add default via 10.1.0.1
ip -n "$S" -6 route add default via fd00:2::1
inR sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 \
    net.ipv4.conf.lan0.rp_filter=0 net.ipv4.conf.wan0.rp_filter=0
# Keep TCP short: one SYN retransmission (~3 s to ETIMEDOUT) instead of six (~127 s).
inC sysctl -qw net.ipv4.tcp_syn_retries=1
# Static neighbours, so captures hold no ARP/ND noise (fd00:2::99 stays unresolvable).
ip -n "$C" neigh replace 10.1.1.1 lladdr 02:00:00:00:01:01 dev eth0 nud permanent
ip -n "$C" neigh replace fd00:1::1 lladdr 02:00:00:00:01:01 dev eth0 nud permanent
ip -n "$R" neigh replace 10.1.1.2 lladdr 02:00:00:00:01:02 dev lan0 nud permanent
ip -n "$R" neigh replace fd00:1::2 lladdr 02:00:00:00:01:02 dev lan0 nud permanent
ip -n "$R" neigh replace 10.1.0.2 lladdr 02:00:00:00:02:02 dev wan0 nud permanent
ip -n "$R" neigh replace fd00:2::2 lladdr 02:00:00:00:02:02 dev wan0 nud permanent
ip -n "$S" neigh replace 10.1.0.1 lladdr 02:00:00:00:02:01 dev eth0 nud permanent
ip -n "$S" neigh replace fd00:2::1 lladdr 02:00:00:00:02:01 dev eth0 nud permanent

# The router's host state, for `--host`.
inR ip -j addr > "$out/router/ip-addr.json"
inR ip -4 -j route show table all > "$out/router/ip-route.json"
inR ip -6 -j route show table all > "$out/router/ip6-route.json"
inR ip -j rule > "$out/router/ip-rule.json"
inR ip -6 -j rule > "$out/router/ip6-rule.json"
inR sysctl -a 2>/dev/null | grep -E '^net\.ipv4\.(ip_forward|conf\.(all|default|lan0|wan0)\.(rp_filter|forwarding))|^net\.ipv6\.conf\.(all|default|lan0|wan0)\.forwarding|^net\.netfilter\.nf_conntrack_tcp_(loose|be_liberal)' > "$out/router/sysctl.txt"
: > "$out/router/ss.txt"

# --- servers on wbcS: TCP 80 (v4+v6) answers, 2175 and 2176 closed ---------------------
listener='import socket,sys
s=socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,0); s.bind(("::",80)); s.listen(16)
while True:
    c,_=s.accept(); c.close()'
# `ip netns exec` execs the command: $! is its own pid, which cleanup can stop.
ip netns exec "$S" timeout 600 python3 -c "$listener" & pids+=($!)

# --- throwaway TLS material: a trusted CA for the server, a rogue one for the client ---
tls=$work/tls; mkdir -p "$tls"
ec() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 "$@" 2>/dev/null; }
ec -keyout "$tls/ca.key" -out "$tls/ca.pem" -subj "/O=whyblocked test/CN=Trusted Test CA"
ec -keyout "$tls/rogue.key" -out "$tls/rogue.pem" -subj "/O=elsewhere/CN=Unknown Rogue CA"
leaf() { # NAME CN CA
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tls/$1.key" \
        -out "$tls/$1.csr" -subj "/CN=$2" 2>/dev/null
    openssl x509 -req -in "$tls/$1.csr" -CA "$tls/$3.pem" -CAkey "$tls/$3.key" -CAcreateserial \
        -days 3650 -out "$tls/$1.pem" 2>/dev/null
}
leaf server server.test ca
leaf client client.test rogue

# --- one case ----------------------------------------------------------------------------
reset_rules() {
    for t in filter nat raw mangle; do inR iptables -t "$t" -F; inR iptables -t "$t" -X; inR ip6tables -t "$t" -F; inR ip6tables -t "$t" -X; done
    inR conntrack -F >/dev/null 2>&1 || true
    inR conntrack -f ipv6 -F >/dev/null 2>&1 || true
}

# capture CASE SNAPLEN FAMILY(4|6) -- COMMAND... : records lan0 while COMMAND runs in wbcC.
capture() {
    local name=$1 snap=$2 fam=$3; shift 4
    local log=$work/$name.tcpdump
    ip netns exec "$R" tcpdump -Z root -U --immediate-mode -n -i lan0 -s "$snap" -w "$out/$name.pcap" 'ip or ip6' 2>"$log" & local tp=$!
    pids+=($tp)
    for _ in $(seq 50); do grep -q listening "$log" 2>/dev/null && break; sleep 0.1; done
    inC timeout 20 "$@" >>"$work/client.log" 2>&1 || true
    sleep 1
    kill -INT "$tp" 2>/dev/null || true
    wait "$tp" 2>/dev/null || true
    if [ "$fam" = 6 ]; then inR ip6tables-save > "$out/$name.rules"; else inR iptables-save > "$out/$name.rules"; fi
    echo "$name: $(stat -c %s "$out/$name.pcap") bytes"
}
connect() { timeout "${3:-5}" bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null || true; }
export -f connect

# REJECT, every --reject-with of iptables, TCP to 10.1.0.2:2175 through the router.
for with in tcp-reset icmp-port-unreachable icmp-host-prohibited icmp-admin-prohibited \
            icmp-net-unreachable icmp-host-unreachable icmp-net-prohibited icmp-proto-unreachable; do
    reset_rules
    inR iptables -A FORWARD -i lan0 -o wan0 -p tcp --dport 2175 -j REJECT --reject-with "$with"
    if [ "$with" = tcp-reset ]; then
        # A working connection to the same server first: its TTL is what the RST is compared with.
        capture "reject-$with" 256 4 -- bash -c 'connect 10.1.0.2 80; connect 10.1.0.2 2175'
    else
        capture "reject-$with" 256 4 -- bash -c 'connect 10.1.0.2 2175'
    fi
done

# REJECT, every --reject-with of ip6tables.
for with in tcp-reset icmp6-port-unreachable icmp6-adm-prohibited icmp6-no-route icmp6-addr-unreachable; do
    reset_rules
    inR ip6tables -A FORWARD -i lan0 -o wan0 -p tcp --dport 2175 -j REJECT --reject-with "$with"
    capture "reject6-$with" 256 6 -- bash -c 'connect fd00:2::2 2175 4'
done

# UDP rejected by the router (user story 1, UDP): port unreachable from 10.1.1.1.
reset_rules
inR iptables -A FORWARD -i lan0 -o wan0 -p udp --dport 5353 -j REJECT
capture reject-udp 256 4 -- bash -c 'echo query > /dev/udp/10.1.0.2/5353; sleep 0.3'

# DROP: the SYN and its one retransmission, nothing back.
reset_rules
inR iptables -A FORWARD -i lan0 -o wan0 -p tcp --dport 2175 -j DROP
capture drop 256 4 -- bash -c 'connect 10.1.0.2 2175 5'

# Closed port: the firewall lets it through, the server's stack answers (RST; UDP: ICMP
# port unreachable from the server itself), after a working connection to port 80.
reset_rules
capture closed-port 256 4 -- bash -c 'connect 10.1.0.2 80; connect 10.1.0.2 2176; echo q > /dev/udp/10.1.0.2/5354; sleep 0.3'

# DNAT with a broken reply path: the router forwards 10.1.1.1:1222 to 10.1.0.2:80, but
# the replies are NOTRACKed, so conntrack never undoes the DNAT: the SYN/ACK reaches the
# client from 10.1.0.2:80, which it never contacted, and the client answers RST.
reset_rules
inR iptables -t nat -A PREROUTING -i lan0 -p tcp --dport 1222 -j DNAT --to-destination 10.1.0.2:80
inR iptables -t raw -A PREROUTING -i wan0 -p tcp --sport 80 -j NOTRACK
capture dnat-broken-reply 256 4 -- bash -c 'connect 10.1.1.1 1222 4'

# TLS 1.2, client certificate from a CA the server does not trust: Alert unknown_ca in clear.
reset_rules
tls_case() { # NAME EXTRA-ARGS
    local name=$1 extra=$2
    ip netns exec "$S" timeout 30 openssl s_server -quiet -naccept 1 -accept 4433 -cert "$tls/server.pem" -key "$tls/server.key" \
        -Verify 1 -verify_return_error -CAfile "$tls/ca.pem" $extra >/dev/null 2>&1 & local sp=$!
    pids+=($sp)
    for _ in $(seq 50); do inS ss -ltnH 'sport = :4433' | grep -q 4433 && break; sleep 0.1; done
    capture "$name" 4096 4 -- bash -c "echo | timeout 10 openssl s_client -connect 10.1.0.2:4433 -servername server.test \
        -cert $tls/client.pem -key $tls/client.key $extra; sleep 0.3"
    kill "$sp" 2>/dev/null || true; wait "$sp" 2>/dev/null || true
}
tls_case tls12-unknown-ca -tls1_2
# TLS 1.3: the same refusal, but the client certificate and the alert are encrypted.
tls_case tls13-unknown-ca -tls1_3

# Ping with no route back: the server has lost its default route, so echo replies never leave.
reset_rules
ip -n "$S" route del default via 10.1.0.1
capture ping-no-route-back 256 4 -- ping -n -c 2 -i 0.5 -W 1 10.1.0.2
ip -n "$S" route add default via 10.1.0.1

# Ping with TTL 1: time exceeded from the router.
reset_rules
capture ping-ttl-exceeded 256 4 -- ping -n -c 1 -t 1 -W 1 10.1.0.2

# ICMPv6 address unreachable: fd00:2::99 does not answer neighbour discovery on wan0; the
# router reports it after ~3 s with Destination Unreachable code 3 from fd00:1::1.
reset_rules
capture icmp6-addr-unreachable 256 6 -- ping -6 -n -c 1 -W 6 fd00:2::99

story1_ufw

echo "captures in $out"
