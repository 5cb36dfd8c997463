#!/usr/bin/env python3
"""Writes a C file defining `const char SYMBOL[]` with the text of a file.

Used by meson.build to embed packaging/postern.conf in the binary, so that
`postern install` writes the same template the package ships.
usage: embed_text.py INPUT OUTPUT SYMBOL
"""
import sys


def c_literal(line):
    out = []
    for ch in line:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif 0x20 <= o < 0x7F:
            out.append(ch)
        else:
            raise SystemExit(f"embed_text.py: non-ASCII or control character {o:#x} in input")
    # "??" could start a trigraph in some compilers' modes
    return '"' + "".join(out).replace("??", '?""?') + '"'


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    src, dst, symbol = sys.argv[1:]
    with open(src, encoding="ascii") as f:
        lines = f.read().splitlines(keepends=True)
    with open(dst, "w", encoding="ascii") as f:
        f.write(f"/* Generated from {src.rsplit('/', 1)[-1]} by scripts/embed_text.py: do not edit. */\n")
        f.write(f"extern const char {symbol}[];\n")
        f.write(f"const char {symbol}[] =\n")
        for line in lines:
            f.write("\t" + c_literal(line) + "\n")
        if not lines:
            f.write('\t""\n')
        f.write(";\n")


main()
