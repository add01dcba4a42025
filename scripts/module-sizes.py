#!/usr/bin/env python3
"""What each crate costs in a wasm module: code bytes by crate, read from the module's
`name` section (cargo's wasm output before wasm-bindgen, which keeps the symbol names).
A function is charged to the crate its symbol's path starts with (for a trait impl,
the implementing type's crate). Used by scripts/bench.sh; the shipped bytes are
scripts/first-load.sh's.

Usage: scripts/module-sizes.py MODULE.wasm [TOP]"""
import collections
import re
import sys


def leb128(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def skip_name(data, at):
    length, at = leb128(data, at)
    return at + length


def read(path):
    """Code-body sizes in function-index order, the names by index, and the data size."""
    data = open(path, "rb").read()
    if data[:4] != b"\0asm":
        sys.exit(f"{path} is not a wasm module")
    at, imported, bodies, names, data_bytes = 8, 0, [], {}, 0
    while at < len(data):
        section = data[at]
        size, at = leb128(data, at + 1)
        end = at + size
        if section == 2:  # imports: functions among them come first in the index space
            count, p = leb128(data, at)
            for _ in range(count):
                p = skip_name(data, skip_name(data, p))
                kind = data[p]
                p += 1
                if kind == 0:
                    _, p = leb128(data, p)
                    imported += 1
                elif kind == 1:
                    flags, p = leb128(data, p + 1)
                    _, p = leb128(data, p)
                    if flags & 1:
                        _, p = leb128(data, p)
                elif kind == 2:
                    flags, p = leb128(data, p)
                    _, p = leb128(data, p)
                    if flags & 1:
                        _, p = leb128(data, p)
                elif kind == 3:
                    p += 2
                elif kind == 4:
                    _, p = leb128(data, p + 1)
        elif section == 10:
            count, p = leb128(data, at)
            for _ in range(count):
                length, p = leb128(data, p)
                bodies.append(length)
                p += length
        elif section == 11:
            data_bytes = size
        elif section == 0:
            name_end = skip_name(data, at)
            if data[at + 1:name_end] == b"name":
                p = name_end
                while p < end:
                    kind = data[p]
                    length, p = leb128(data, p + 1)
                    if kind == 1:
                        count, q = leb128(data, p)
                        for _ in range(count):
                            index, q = leb128(data, q)
                            length_name, q = leb128(data, q)
                            names[index] = data[q:q + length_name].decode(errors="replace")
                            q += length_name
                    p += length
        at = end
    return imported, bodies, names, data_bytes


def crate_of(symbol):
    """The crate a (legacy-mangled or plain) symbol's path starts with."""
    mangled = re.match(r"_ZN(\d+)", symbol)
    if mangled:
        length = int(mangled.group(1))
        first = symbol[mangled.end():mangled.end() + length]
        for code, text in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"), ("$BP$", "*"), ("..", "::")):
            first = first.replace(code, text)
        first = re.sub(r"^[_<&*\[( ]+|mut |dyn ", "", first)
        word = re.match(r"[A-Za-z_0-9]+", first)
        return word.group(0) if word else "(other)"
    plain = re.match(r"<?([A-Za-z_][A-Za-z_0-9]*)::", symbol)
    if plain:
        return plain.group(1)
    if symbol.startswith("__wbindgen") or symbol.startswith("__wbg") or symbol.startswith("wasm_bindgen"):
        return "(wasm-bindgen glue)"
    return "(other)"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    imported, bodies, names, data_bytes = read(sys.argv[1])
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    by_crate = collections.Counter()
    for index, size in enumerate(bodies):
        symbol = names.get(imported + index, "")
        # wasm-bindgen's type descriptions run at build time and leave the module then.
        if not symbol.startswith("__wbindgen_describe"):
            by_crate[crate_of(symbol)] += size
    total = sum(by_crate.values())
    print(f"{sys.argv[1].split('/')[-1]}: {total / 1e6:.2f} MB of code (before wasm-opt), {data_bytes / 1e6:.2f} MB of data")
    for crate, size in by_crate.most_common(top):
        print(f"{size / 1e3:10.1f} KB {100 * size / total:5.1f}%  {crate}")
    rest = total - sum(size for _, size in by_crate.most_common(top))
    if rest > 0:
        print(f"{rest / 1e3:10.1f} KB {100 * rest / total:5.1f}%  (the other {len(by_crate) - top} crates)")


main()
