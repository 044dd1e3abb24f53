"""Replaces one marked section of docs/benchmarks.md, leaving the rest of the page alone."""
import os


def write_section(path, name, text):
    """Puts `text` between <!-- bench:NAME:begin --> and <!-- bench:NAME:end --> in `path`
    (the markers are appended when missing)."""
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    document = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if begin not in document:
        document += f"\n{begin}\n{end}\n"
    before, rest = document.split(begin, 1)
    after = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(before + begin + "\n" + text + end + after)
