#!/bin/sh
# Compiles one bpf/*.bpf.c into a CO-RE object and writes a Swift file that embeds the object
# as a base64 string (a string literal compiles in milliseconds; a byte-array literal does not).
# Run by Plugins/BPFCompilerPlugin: embed-object.sh CLANG OBJCOPY|"" SOURCE INCLUDE OBJECT OUTPUT SYMBOL
set -eu
clang=$1 objcopy=$2 source=$3 include=$4 object=$5 output=$6 symbol=$7
"$clang" -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I "$include" -c "$source" -o "$object"
# DWARF is only needed to produce .BTF/.BTF.ext, which --strip-debug keeps.
if [ -n "$objcopy" ]; then "$objcopy" --strip-debug "$object"; fi
name=$(basename "$source")
{
    printf '// Built from bpf/%s by the BPFCompilerPlugin. Do not edit.\n\n' "$name"
    printf 'extension EmbeddedBPFObjects {\n'
    printf '    /// The ELF object compiled from `bpf/%s`, base64-encoded.\n' "$name"
    printf '    static let %s: StaticString = "' "$symbol"
    base64 -w0 "$object"
    printf '"\n}\n'
} >"$output.tmp"
mv "$output.tmp" "$output"
