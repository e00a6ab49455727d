#!/usr/bin/env bash
# docs/api.md documents exactly the public API: the functions declared with
# NIPC_API in include/netipc/*.h, the symbols the shared library exports,
# and the functions listed under "Every function" in docs/api.md must be
# the same set; the return type listed there must be the declared one.
#   doc_check.sh SOURCE_DIR SHARED_LIBRARY
set -euo pipefail
src=${1:?usage: doc_check.sh SOURCE_DIR SHARED_LIBRARY}
lib=${2:?}
python3 - "$src" "$lib" <<'PY'
import re, subprocess, sys, glob
src, lib = sys.argv[1], sys.argv[2]
declared = {}
for h in sorted(glob.glob(src + "/include/netipc/*.h")):
    text = re.sub(r"/\*.*?\*/", "", open(h).read(), flags=re.S)
    for m in re.finditer(r"NIPC_API\s+([^;(]*?)\b(nipc_\w+)\s*\(", text):
        declared[m.group(2)] = " ".join(m.group(1).split())
out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True,
                     check=True).stdout
# Every exported function, so a leaked internal shows; less what a coverage
# build's libgcov adds.
exported = {l.split()[-1] for l in out.splitlines()
            if len(l.split()) >= 3 and l.split()[1] == "T"}
exported = {n for n in exported if not n.startswith("__gcov") and n != "mangle_path"}
doc = open(src + "/docs/api.md").read()
section = doc[doc.index("## Every function"):]
documented = {}
for m in re.finditer(r"^\| `(nipc_\w+)\(\)` \| `([^`]+)` \|", section, flags=re.M):
    documented[m.group(1)] = m.group(2)
problems = []
for name in sorted(set(declared) | exported | set(documented)):
    where = [w for w, s in (("header", declared), ("library", exported), ("api.md", documented))
             if name not in s]
    if where:
        problems.append(f"{name}: missing from {', '.join(where)}")
    elif declared[name].replace(" *", "*").replace("* ", "*") != documented[name].replace(" *", "*"):
        problems.append(f"{name}: returns '{declared[name]}' but api.md says '{documented[name]}'")
for p in problems:
    print("FAIL", p)
print(f"{len(declared)} declared, {len(exported)} exported, {len(documented)} documented, "
      f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
PY
