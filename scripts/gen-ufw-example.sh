#!/usr/bin/env bash
# Generates examples/ufw-router/ by running the real ufw inside a throwaway network
# namespace (user story 1: a ufw router that rejects routed traffic). The host's own ufw,
# firewall and /etc stay untouched: ufw runs with private bind-mounted copies of its
# configuration and a private /run, as ../shared/KERNEL-FACTS.md describes.
#
# Needs root and the Debian packages ufw, iptables (nf_tables backend), iproute2.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/examples/ufw-router"
ns="wbufw-gen-$$"
peers="wbufw-peers-$$"
trap 'ip netns del "$ns" 2>/dev/null || true; ip netns del "$peers" 2>/dev/null || true' EXIT
ip netns add "$ns"
ip netns add "$peers"
# The router of user story 1: tap0 faces the z/OS host, eno1 faces the laptop; the far
# ends of both links live in a second namespace so the router lists only its own links.
ip -n "$ns" link add tap0 type veth peer name zos0 netns "$peers"
ip -n "$ns" link add eno1 type veth peer name laptop0 netns "$peers"
ip -n "$peers" link set zos0 up
ip -n "$peers" link set laptop0 up
mkdir -p "$out/host/etc/ufw" "$out/host/etc/default" "$out/host/cmd"
ip netns exec "$ns" unshare -m bash -euo pipefail -c '
  mount --make-rprivate /
  tmp=$(mktemp -d)
  cp -a /etc/ufw "$tmp/etc-ufw"; cp -a /lib/ufw "$tmp/lib-ufw"; cp /etc/default/ufw "$tmp/default-ufw"
  # No sysctl changes and no module loading from inside the namespace.
  sed -i "s|^IPT_SYSCTL=.*|IPT_SYSCTL=/dev/null|; s|^IPT_MODULES=.*|IPT_MODULES=\"\"|" "$tmp/default-ufw"
  mount --bind "$tmp/etc-ufw" /etc/ufw
  mount --bind "$tmp/lib-ufw" /lib/ufw
  mount --bind "$tmp/default-ufw" /etc/default/ufw
  mount -t tmpfs tmpfs /run
  ip link set lo up; ip link set tap0 up; ip link set eno1 up
  ip addr add 10.1.1.1/24 dev tap0
  ip addr add 10.1.0.1/24 dev eno1
  sysctl -qw net.ipv4.ip_forward=1
  ufw --force enable >/dev/null
  ufw default reject routed >/dev/null
  ufw allow 22/tcp >/dev/null
  ufw deny 23/tcp >/dev/null
  iptables-save | sed "/^#/d" > "$1/iptables-save.txt"
  ip6tables-save | sed "/^#/d" > "$1/ip6tables-save.txt"
  # The configuration of ufw itself: user rules with their tuples, defaults, numbering.
  cp /etc/ufw/user.rules /etc/ufw/user6.rules "$1/host/etc/ufw/"
  cp /etc/default/ufw "$1/host/etc/default/ufw"
  ufw status numbered > "$1/host/cmd/ufw-status-numbered.txt"
  ip -j addr > "$1/host/ip-addr.json"
  ip -j route show table all > "$1/host/ip-route.json"
  ip -6 -j route show table all > "$1/host/ip6-route.json"
  ip -j rule > "$1/host/ip-rule.json"
  ip -6 -j rule > "$1/host/ip6-rule.json"
  sysctl -a 2>/dev/null | grep -E "^net\.ipv4\.(ip_forward|conf\.(all|default|lo|tap0|eno1)\.(forwarding|rp_filter|accept_local|route_localnet)|tcp_syn_retries|icmp_errors_use_inbound_ifaddr) |^net\.ipv6\.conf\.(all|tap0|eno1)\.forwarding |^net\.netfilter\.nf_conntrack_(tcp_loose|tcp_be_liberal|max) " > "$1/host/sysctl.txt"
' _ "$out"
printf 'LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\nLISTEN 0 128 [::]:22 [::]:*\n' > "$out/host/ss.txt"
echo "generated $out"
