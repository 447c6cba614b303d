#!/bin/sh
# Regenerates bpf/include/vmlinux.h from the running kernel's BTF. Only needed to pick up new
# kernel types: the committed header keeps builds independent of the build host's kernel, and
# CO-RE relocates field accesses to whatever kernel loads the programs.
# Needs bpftool (Debian 12: apt-get install bpftool).
set -eu
cd "$(dirname "$0")"
bpftool btf dump file "${1:-/sys/kernel/btf/vmlinux}" format c >include/vmlinux.h.tmp
mv include/vmlinux.h.tmp include/vmlinux.h
echo "bpf/include/vmlinux.h: $(wc -c <include/vmlinux.h) bytes from ${1:-/sys/kernel/btf/vmlinux}"
