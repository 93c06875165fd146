//! Linux-only: network-namespace kernel oracle, netlink trace reader, host snapshots.
