#!/usr/bin/env python3
"""Writes the README's quickstart program to a file, so that it is built and run.

usage: extract_snippet.py README.md OUTPUT.cpp

The README marks the program with the line `<!-- snippet: quickstart -->`,
immediately followed by a ```cpp fenced block. Exactly one marker is allowed.
"""

import sys

MARKER = "<!-- snippet: quickstart -->"


def extract(lines: list[str]) -> tuple[int, str]:
    """Returns the README line number of the block's first line, and the block."""
    marks = [i for i, line in enumerate(lines) if line.strip() == MARKER]
    if not marks:
        raise ValueError(f"no line {MARKER!r}")
    if len(marks) > 1:
        raise ValueError(f"{MARKER!r} appears {len(marks)} times (lines {', '.join(str(i + 1) for i in marks)})")
    start = marks[0] + 1
    if start >= len(lines) or lines[start].strip() != "```cpp":
        raise ValueError(f"line {start + 1}: expected a ```cpp fence right after {MARKER!r}")
    for end in range(start + 1, len(lines)):
        if lines[end].strip() == "```":
            body = lines[start + 1:end]
            if not any(line.strip() for line in body):
                raise ValueError(f"line {start + 1}: the quickstart block is empty")
            return start + 2, "".join(body)
    raise ValueError(f"line {start + 1}: the ```cpp block is never closed")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    readme, output = argv[1], argv[2]
    try:
        with open(readme, encoding="utf-8") as f:
            first_line, code = extract(f.readlines())
    except (OSError, ValueError) as e:
        print(f"extract_snippet.py: {readme}: {e}", file=sys.stderr)
        return 1
    with open(output, "w", encoding="utf-8") as f:
        f.write("// Extracted from the README by tests/compile/extract_snippet.py: do not edit.\n")
        # Compiler messages then point into the README itself.
        quoted = readme.replace("\\", "\\\\").replace('"', '\\"')
        f.write(f'#line {first_line} "{quoted}"\n')
        f.write(code)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
