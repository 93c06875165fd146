#!/usr/bin/env bash
# Records the project's own `ip -j link` and `ip -j neigh` fixtures (issue 12) from a real
# kernel, for the reader tests of crates/frontends (host/iproute/link.rs, neigh.rs) and the
# host directory tests. Run as root; the tests never run it: they read what it committed.
#
#   scripts/make-link-neigh-fixtures.sh [OUTDIR]   (default: crates/frontends/tests/fixtures/host)
#
# Two namespaces, wbrdA<pid> (the host captured) and wbrdB<pid> (its neighbour):
#
#   wbrdA veth0 10.20.0.1/24 fd00:20::1/64 mtu 1400 -- veth0 10.20.0.2/24 fd00:20::2/64 wbrdB
#
# wbrdA also has br0 (a bridge) with port0 (a veth whose peer port0p is up), veth1 (up, its
# peer veth1p down: NO-CARRIER) and idle0/idle0p (down, no address). Its neighbour table:
# 10.20.0.50 and fd00:20::50 PERMANENT, 10.20.0.51 STALE, fd00:20::60 STALE with the router
# flag (all added by hand), 10.20.0.2 and fd00:20::2 REACHABLE (pinged), 10.20.0.99 and
# fd00:20::99 pinged though nobody owns them: INCOMPLETE at once, FAILED once the probes ran
# out (waited for, at most 10 s).
#
# Written: OUTDIR/links/ (a host directory: ip-addr.json, ip-link.json from `ip -j -d link`,
# ip-neigh.json, ip-route.json, ip6-route.json) and OUTDIR/links-variants/ (ip-link-plain.json
# from `ip -j link`, ip4-neigh.json and ip6-neigh.json from `ip -4`/`ip -6 -j neigh`,
# ip-neigh-incomplete.json captured before the probes ran out, and the text outputs
# ip-link.txt and ip-neigh.txt). Every namespace is made here and deleted on exit, failure
# included; nothing in the root namespace is touched.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/crates/frontends/tests/fixtures/host}
A=wbrdA$$ B=wbrdB$$
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; }
trap cleanup EXIT
mkdir -p "$out/links" "$out/links-variants"
ip netns add "$A"; ip netns add "$B"
for n in "$A" "$B"; do
  for k in net.ipv6.conf.all.accept_dad net.ipv6.conf.default.accept_dad \
           net.ipv6.conf.default.accept_ra net.ipv6.conf.default.router_solicitations; do
    ip netns exec "$n" sysctl -qw "$k=0"
  done
  ip -n "$n" link set lo up
done
a() { ip -n "$A" "$@"; }
a link add veth0 type veth peer name veth0 netns "$B"
a link set veth0 mtu 1400 address 52:54:00:20:00:01
ip -n "$B" link set veth0 address 52:54:00:20:00:02
a addr add 10.20.0.1/24 brd + dev veth0
a addr add fd00:20::1/64 dev veth0 nodad
ip -n "$B" addr add 10.20.0.2/24 brd + dev veth0
ip -n "$B" addr add fd00:20::2/64 dev veth0 nodad
a link set veth0 up; ip -n "$B" link set veth0 up
a link add br0 address 52:54:00:20:0b:00 type bridge
a link add port0 address 52:54:00:20:0b:01 type veth peer name port0p address 52:54:00:20:0b:02
a link set port0 master br0
a addr add 10.30.0.1/24 brd + dev br0
a link set br0 up; a link set port0 up; a link set port0p up
a link add veth1 address 52:54:00:20:01:01 type veth peer name veth1p address 52:54:00:20:01:02
a link set veth1 up
a link add idle0 address 52:54:00:20:02:01 type veth peer name idle0p address 52:54:00:20:02:02
a neigh add 10.20.0.50 lladdr 02:00:00:00:00:50 dev veth0 nud permanent
a neigh add 10.20.0.51 lladdr 02:00:00:00:00:51 dev veth0 nud stale
a -6 neigh add fd00:20::50 lladdr 02:00:00:00:00:50 dev veth0 nud permanent
a -6 neigh add fd00:20::60 lladdr 02:00:00:00:00:60 dev veth0 router nud stale
ip netns exec "$A" ping -c1 -W2 10.20.0.2 >/dev/null
ip netns exec "$A" ping -c1 -W2 fd00:20::2 >/dev/null
ip netns exec "$A" ping -c1 -W1 10.20.0.99 >/dev/null || true
ip netns exec "$A" ping -c1 -W1 fd00:20::99 >/dev/null || true
a -j neigh > "$out/links-variants/ip-neigh-incomplete.json"
for _ in $(seq 20); do
  n=$(a neigh)
  if grep -q '^10.20.0.99 .*FAILED' <<<"$n" && grep -q '^fd00:20::99 .*FAILED' <<<"$n"; then break; fi
  sleep 0.5
done
a -j addr > "$out/links/ip-addr.json"
a -j -d link > "$out/links/ip-link.json"
a -j neigh > "$out/links/ip-neigh.json"
a -4 -j route show table all > "$out/links/ip-route.json"
a -6 -j route show table all > "$out/links/ip6-route.json"
a -j link > "$out/links-variants/ip-link-plain.json"
a -4 -j neigh > "$out/links-variants/ip4-neigh.json"
a -6 -j neigh > "$out/links-variants/ip6-neigh.json"
a link > "$out/links-variants/ip-link.txt"
a neigh > "$out/links-variants/ip-neigh.txt"
grep -q FAILED "$out/links/ip-neigh.json" || { echo "the unowned addresses never became FAILED" >&2; exit 1; }
echo "written: $out/links $out/links-variants"
