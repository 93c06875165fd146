#!/usr/bin/env python3
"""Merges classic pcap files, one per interface, into one pcapng file: an interface
description block per input (named, with its link type and snap length), then the packets
of all of them in time order, each enhanced packet block naming its interface. What
`dumpcap -i a -i b` writes, for machines without it (scripts/make-pmtu-captures.sh).

    pcap-to-pcapng.py OUT.pcapng NAME=IN.pcap...
"""
import struct
import sys


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    formats = {
        b"\xd4\xc3\xb2\xa1": ("<", 1000),
        b"\xa1\xb2\xc3\xd4": (">", 1000),
        b"\x4d\x3c\xb2\xa1": ("<", 1),
        b"\xa1\xb2\x3c\x4d": (">", 1),
    }
    if magic not in formats:
        sys.exit(f"{path}: not a classic pcap file")
    end, ns_per_tick = formats[magic]
    snaplen, link = struct.unpack(end + "II", data[16:24])
    packets, pos = [], 24
    while pos + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(end + "IIII", data[pos:pos + 16])
        body = data[pos + 16:pos + 16 + incl]
        if len(body) < incl:
            break
        packets.append((sec * 1_000_000_000 + frac * ns_per_tick, orig, body))
        pos += 16 + incl
    return link, snaplen, packets


def option(code, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("<HH", code, len(value)) + value + b"\0" * pad


def block(kind, body):
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, inputs = sys.argv[1], sys.argv[2:]
    blocks = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    merged = []
    for index, spec in enumerate(inputs):
        name, _, path = spec.partition("=")
        link, snaplen, packets = read_pcap(path)
        # Nanosecond timestamps (if_tsresol 9), the interface's name (if_name).
        opts = option(2, name.encode()) + option(9, b"\x09") + option(0, b"")
        blocks.append(block(1, struct.pack("<HHI", link, 0, snaplen) + opts))
        merged += [(ts, index, orig, body) for ts, orig, body in packets]
    merged.sort(key=lambda p: (p[0], p[1]))
    for ts, index, orig, body in merged:
        pad = (4 - len(body) % 4) % 4
        head = struct.pack("<IIIII", index, ts >> 32, ts & 0xFFFFFFFF, len(body), orig)
        blocks.append(block(6, head + body + b"\0" * pad))
    with open(out, "wb") as f:
        f.write(b"".join(blocks))


main()
