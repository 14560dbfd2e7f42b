#!/usr/bin/python3
"""Agreement test: the engine's validator and python3-jsonschema
(Draft202012Validator, Debian's package) must accept and reject exactly the
same inputs, over the schemas of schemas/ and a corpus of cases.

Run by ctest as
  /usr/bin/python3 tests/schema/agreement.py --engine build/spinerules --root .

What is compared:
  1. every schema of schemas/ is a valid 2020-12 schema (check_schema);
  2. cases: a thousand mutations of the SPEC example (every field set to
     values of every type, in and out of range, unknown keys at every level,
     fields removed), the files of tests/data/valid, and the files of
     tests/data/invalid that the YAML reader itself accepts (yaml-* and
     json-* files are refused by the reader before any schema check: aliases,
     tags, duplicate keys, bad UTF-8 have no JSON Schema meaning). The engine
     says valid when it writes a result, invalid when it writes an error
     record. The engine's checks beyond the schema (a lesion level missing
     from metastatic_levels, two lesions at one level, a repeated case id)
     are computed here too, as validate.h defines them;
  3. every record the engine writes for these inputs and for
     docs/examples/cases.yaml is valid against result.schema.yaml;
  4. the shipped manifests and golden files are valid against their schemas,
     and mutated manifests are refused by both.
YAML is read with YAML 1.2 core scalar rules, as the engine reads it (yes/no
and dates stay strings, 010 stays a string).
"""
import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import jsonschema
import yaml


class CoreLoader(yaml.SafeLoader):
    """YAML 1.2 core schema resolution, as engine/reader.c resolves plain scalars."""


CoreLoader.yaml_implicit_resolvers = {}
for tag, regexp, first in [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+|\.[0-9]+[eE][-+]?[0-9]+)"
     r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", list("-+.0123456789")),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
]:
    CoreLoader.add_implicit_resolver(tag, re.compile(regexp), first)


def construct_int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


def construct_float(loader, node):
    text = loader.construct_scalar(node).lower()
    if text.endswith("inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text.endswith("nan"):
        return float("nan")
    return float(text)


CoreLoader.add_constructor("tag:yaml.org,2002:int", construct_int)
CoreLoader.add_constructor("tag:yaml.org,2002:float", construct_float)


def load_yaml_all(path):
    with open(path, encoding="utf-8") as f:
        return list(yaml.load_all(f, Loader=CoreLoader))


def load_schema(root, name):
    with open(os.path.join(root, "schemas", name), encoding="utf-8") as f:
        schema = yaml.load(f, Loader=CoreLoader)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def engine_checks(case, seen_ids):
    """The engine's checks beyond the schema (validate.h): True when they pass."""
    ok = True
    if not isinstance(case, dict):
        return True
    cid = case.get("id")
    if isinstance(cid, str):
        if cid in seen_ids:
            ok = False
        seen_ids.add(cid)
    spine = case.get("spine")
    if isinstance(spine, dict) and isinstance(spine.get("lesions"), list):
        listed = spine.get("metastatic_levels")
        have_list = isinstance(listed, list)
        levels = []
        for lesion in spine["lesions"]:
            if isinstance(lesion, dict) and isinstance(lesion.get("level"), str):
                level = lesion["level"]
                if level in levels:
                    ok = False
                elif have_list and level not in listed:
                    ok = False
                levels.append(level)
    return ok


def finite(value):
    """JSON cannot hold .inf or .nan: the engine counts them as no number."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return False
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    if isinstance(value, list):
        return all(finite(v) for v in value)
    return True


class Run:
    def __init__(self, args):
        self.engine = args.engine
        self.root = args.root
        self.rules = os.path.join(args.root, "rules", "spine-metastasis-lung", "1.0.0")
        self.passed = 0
        self.failed = 0
        self.case = load_schema(self.root, "case.schema.yaml")
        self.result = load_schema(self.root, "result.schema.yaml")
        self.manifest = load_schema(self.root, "manifest.schema.yaml")
        self.golden = load_schema(self.root, "golden.schema.yaml")

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("DISAGREE " + what)

    def eval(self, path):
        p = subprocess.run([self.engine, "eval", "--rules", self.rules, path], capture_output=True, text=True)
        if p.returncode not in (0, 1):
            raise SystemExit(f"{path}: the engine failed ({p.returncode}): {p.stderr}")
        return [json.loads(line) for line in p.stdout.splitlines()]

    def check_results(self, records, what):
        for r in records:
            errors = sorted(self.result.iter_errors(r), key=lambda e: list(e.absolute_path))
            self.check(not errors, f"{what}: record {r.get('id')} breaks result.schema.yaml: "
                       + "; ".join(f"{list(e.absolute_path)}: {e.message[:120]}" for e in errors[:3]))

    def compare_cases(self, cases, path, what):
        """cases: the documents of the file at path, as python reads them."""
        records = self.eval(path)
        self.check(len(records) == len(cases), f"{what}: {len(cases)} cases, {len(records)} records")
        seen = set()
        for i, (case, rec) in enumerate(zip(cases, records)):
            schema_ok = finite(case) and self.case.is_valid(case)
            checks_ok = engine_checks(case, seen)
            python_valid = schema_ok and checks_ok
            engine_valid = "error" not in rec
            detail = "" if engine_valid else " (" + rec["error"]["message"] + ")"
            self.check(python_valid == engine_valid,
                       f"{what} case {i} ({json.dumps(case)[:200]}): python says "
                       f"{'valid' if python_valid else 'invalid'}, engine says "
                       f"{'valid' if engine_valid else 'invalid'}{detail}")
        self.check_results(records, what)


def mutations(base):
    """The SPEC example with one change each."""
    values = [None, True, False, 0, 1, -1, 5, 10, 40, 60, 65, 100, 110, 60.5, 60.0, 2.5, "", "x", "60",
              "renal", "liver", "T12", "T13", "L2", "D2", "lung", "good", "mechanical", "none", [], ["renal"],
              ["T12", "T12"], ["T11"], ["liver", "brain"], {}, {"a": 1}, [{"level": "T12"}], [{}], [None]]
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            paths.append((path, "object"))
            for k, v in node.items():
                walk(v, path + [k])
        elif isinstance(node, list):
            paths.append((path, "list"))
            for i, v in enumerate(node):
                walk(v, path + [i])
        else:
            paths.append((path, "leaf"))

    walk(base, [])
    out = []

    def at(doc, path):
        for p in path[:-1]:
            doc = doc[p]
        return doc

    for path, kind in paths:
        if not path:
            continue
        for v in values:
            m = copy.deepcopy(base)
            at(m, path)[path[-1]] = v
            out.append(m)
        m = copy.deepcopy(base)
        parent = at(m, path)
        if isinstance(parent, dict):
            del parent[path[-1]]
            out.append(m)
        if kind == "object":
            for key in ("extra", "karnofksy", "levels"):
                for v in (None, 1):
                    m = copy.deepcopy(base)
                    node = at(m, path)[path[-1]]
                    node[key] = v
                    out.append(m)
    for key in ("extra", "karnofsky"):
        m = copy.deepcopy(base)
        m[key] = 1
        out.append(m)
    out += [None, 1, "P-1", [base], {}]
    # give every case its own id, unless the id itself was changed
    for i, m in enumerate(out):
        if isinstance(m, dict) and m.get("id") == base["id"]:
            m["id"] = f"MUT-{i:05d}"
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", required=True)
    ap.add_argument("--root", required=True)
    args = ap.parse_args()
    run = Run(args)
    tmp = tempfile.mkdtemp(prefix="sr-agreement-")
    try:
        # 2. cases: mutations, as JSON Lines (and the JSON text python reads is the engine's input)
        base = load_yaml_all(os.path.join(args.root, "tests", "data", "valid", "spec-example.yaml"))[0]
        muts = mutations(base)
        path = os.path.join(tmp, "mutations.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for m in muts:
                f.write(json.dumps(m) + "\n")
        run.compare_cases(muts, path, "mutations.jsonl")
        print(f"{len(muts)} mutations of the SPEC example compared")
        # the corpus files
        for sub in ("valid", "invalid"):
            d = os.path.join(args.root, "tests", "data", sub)
            for name in sorted(os.listdir(d)):
                if name.endswith(".expected") or name.startswith(("yaml-", "json-")):
                    continue
                p = os.path.join(d, name)
                if name.endswith(".jsonl"):
                    with open(p, encoding="utf-8") as f:
                        cases = [json.loads(line) for line in f if line.strip()]
                else:
                    cases = load_yaml_all(p)
                run.compare_cases(cases, p, f"{sub}/{name}")
        # 3. the example cases' results
        run.check_results(run.eval(os.path.join(args.root, "docs", "examples", "cases.yaml")), "docs/examples")
        # 4. manifests and golden files
        rules_root = os.path.join(args.root, "rules")
        for setname in sorted(os.listdir(rules_root)):
            for version in sorted(os.listdir(os.path.join(rules_root, setname))):
                vdir = os.path.join(rules_root, setname, version)
                man = load_yaml_all(os.path.join(vdir, "manifest.yaml"))[0]
                run.check(run.manifest.is_valid(man), f"{vdir}/manifest.yaml is invalid for python")
                gdir = os.path.join(vdir, "golden")
                for g in sorted(os.listdir(gdir)) if os.path.isdir(gdir) else []:
                    for i, doc in enumerate(load_yaml_all(os.path.join(gdir, g))):
                        run.check(run.golden.is_valid(doc), f"{gdir}/{g} document {i} is invalid for python")
                        run.check(run.case.is_valid(doc.get("case")), f"{gdir}/{g} document {i}: invalid case")
        man_text = open(os.path.join(run.rules, "manifest.yaml"), encoding="utf-8").read()
        edits = [
            ("status: approved", "status: aproved"),
            ("status: approved", "status: approved\nstatu: draft"),
            ("version: 1.0.0", "version: 1.0"),
            ("api: 1 ", "api: 0 "),
            ("date: 2026-11-28", "date: 28/11/2026"),
            ("case_schema: schemas/case.schema.yaml", "case_schema: /etc/passwd"),
            ("name: spine-metastasis-lung", "name: Spine Metastasis"),
            ("  - frankel.lua", "  - frankel.lua\n  - frankel.lua"),
            ("status: approved", "status: draft"),  # valid: both accept
        ]
        for old, new in edits:
            if old not in man_text:
                run.check(False, f"manifest edit: '{old}' not found in the shipped manifest")
                continue
            vdir = os.path.join(tmp, "rules", "x", "1.0.0")
            shutil.rmtree(os.path.join(tmp, "rules"), ignore_errors=True)
            shutil.copytree(run.rules, vdir)
            text = man_text.replace(old, new, 1)
            with open(os.path.join(vdir, "manifest.yaml"), "w", encoding="utf-8") as f:
                f.write(text)
            os.makedirs(os.path.join(tmp, "schemas"), exist_ok=True)
            for s in os.listdir(os.path.join(args.root, "schemas")):
                shutil.copy(os.path.join(args.root, "schemas", s), os.path.join(tmp, "schemas", s))
            python_valid = run.manifest.is_valid(yaml.load(text, Loader=CoreLoader))
            p = subprocess.run([run.engine, "verify", "--rules", vdir], capture_output=True, text=True)
            engine_valid = p.returncode in (0, 1)
            run.check(python_valid == engine_valid,
                      f"manifest with '{new}': python says {python_valid}, engine says {engine_valid}: {p.stderr}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{run.passed} passed, {run.failed} failed")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
