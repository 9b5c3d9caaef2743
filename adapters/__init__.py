"""Implementations of the application's ports: sockets, disks, clocks and humans."""
