#!/usr/bin/python3
"""compare_core.py -- do the engine and the Python baseline agree on the core fields?

    /usr/bin/python3 tools/bench.d/compare_core.py ENGINE.jsonl BASELINE.jsonl

Compares, case by case and in order: id, frankel.{grade,deficit},
sins[*].{level,total,min,max,category,points}, tokuhashi.{total,min,max,points,
survival,surgery}, contraindications[*].{id,status,kind} and recommendation
(SPEC section 5). Prints "core fields agree on N cases" and exits 0, or lists
the first differences and exits 1.
"""
import json
import sys

SINS_KEYS = ("level", "total", "min", "max", "category", "points")
TOKU_KEYS = ("total", "min", "max", "points", "survival", "surgery")
CI_KEYS = ("id", "status", "kind")


def core(r):
    if "error" in r:
        return {"id": r.get("id"), "error": True}
    fr = r.get("frankel") or {}
    toku = r.get("tokuhashi") or {}
    return {
        "id": r.get("id"),
        "frankel": {"grade": fr.get("grade"), "deficit": fr.get("deficit")},
        "sins": [{k: s.get(k) for k in SINS_KEYS} for s in r.get("sins") or []],
        "tokuhashi": {k: toku.get(k) for k in TOKU_KEYS},
        "contraindications": [{k: c.get(k) for k in CI_KEYS} for c in r.get("contraindications") or []],
        "recommendation": r.get("recommendation"),
    }


def diff(a, b, path=""):
    """Yields 'path: a != b' for each leaf that differs."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            yield from diff(a.get(k), b.get(k), f"{path}.{k}" if path else k)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from diff(x, y, f"{path}[{i}]")
    elif a != b or type(a) is not type(b):
        yield f"{path}: engine {json.dumps(a)} != baseline {json.dumps(b)}"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    with open(sys.argv[1], encoding="utf-8") as fa, open(sys.argv[2], encoding="utf-8") as fb:
        engine = [json.loads(line) for line in fa if line.strip()]
        base = [json.loads(line) for line in fb if line.strip()]
    problems = []
    if len(engine) != len(base):
        problems.append(f"{len(engine)} engine results but {len(base)} baseline results")
    bad_cases = 0
    for e, b in zip(engine, base):
        d = list(diff(core(e), core(b)))
        if d:
            bad_cases += 1
            if bad_cases <= 10:
                problems.append(f"case {e.get('id')}: " + "; ".join(d[:6]))
    if problems:
        print(f"core fields DIFFER on {bad_cases} of {min(len(engine), len(base))} cases:")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print(f"core fields agree on {len(engine)} cases")


if __name__ == "__main__":
    main()
