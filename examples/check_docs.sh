#!/usr/bin/env bash
# docs/getting-started.md shows the example programs as they are: every C
# block on the page is announced by a comment naming its file,
#   <!-- examples/provider.c -->
# and must equal that file byte for byte. Output shown on the page is
# announced the same way (<!-- output of example_apps_consumer -->);
# run_examples.sh compares it with what the program prints.
#   check_docs.sh SOURCE_DIR                  check the page
#   check_docs.sh SOURCE_DIR --output NAME    print the output block of NAME
set -euo pipefail
src=${1:?usage: check_docs.sh SOURCE_DIR [--output NAME]}
python3 - "$src" "${2:-}" "${3:-}" <<'PY'
import re, sys
src, mode, name = sys.argv[1], sys.argv[2], sys.argv[3]
page = src + "/docs/getting-started.md"
lines = open(page).read().split("\n")
blocks = []  # (line number, language, announced name or None, text)
i = 0
while i < len(lines):
    m = re.match(r"^```(\w*)$", lines[i])
    if not m:
        i += 1
        continue
    start = i
    j = i + 1
    while lines[j] != "```":
        j += 1
    k = start - 1
    while k >= 0 and lines[k].strip() == "":
        k -= 1
    tag = re.match(r"^<!-- (.+) -->$", lines[k]) if k >= 0 else None
    blocks.append((start + 1, m.group(1), tag.group(1) if tag else None,
                   "\n".join(lines[start + 1:j]) + "\n"))
    i = j + 1

if mode == "--output":
    for _, _, tag, text in blocks:
        if tag == "output of " + name:
            sys.stdout.write(text)
            sys.exit(0)
    sys.exit(f"{page}: no block announced as 'output of {name}'")

problems = []
shown = 0
for line, lang, tag, text in blocks:
    if lang != "c":
        continue
    if not tag or not re.match(r"^examples/\w+\.c$", tag):
        problems.append(f"{page}:{line}: C block not announced by <!-- examples/NAME.c -->")
        continue
    try:
        want = open(f"{src}/{tag}").read()
    except OSError as e:
        problems.append(f"{page}:{line}: {tag}: {e.strerror}")
        continue
    if text != want:
        a, b = text.split("\n"), want.split("\n")
        n = next((x for x in range(min(len(a), len(b))) if a[x] != b[x]), min(len(a), len(b)))
        problems.append(f"{page}:{line}: differs from {tag} at its line {n + 1}")
        continue
    shown += 1
for p in problems:
    print("FAIL", p)
print(f"getting-started: {shown} C block(s) equal to their example file, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
PY
