"""Use cases of campaigns and the ports they need; no sockets, disks or clocks of its own."""
