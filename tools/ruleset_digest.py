#!/usr/bin/env python3
"""ruleset_digest.py -- recomputes a rule set's digest without the engine.

An auditor's independent check of `ruleset.digest` (docs/auditing.md):

    tools/ruleset_digest.py rules/spine-metastasis-lung/1.0.0
    sha256:...

The digest is SHA-256 over "spinerules-digest-v2" NUL, then for the manifest
and for each rule file listed in it, in the manifest's order:
<name> NUL <decimal byte count> NUL <bytes>. The manifest's part is named
"manifest.json" and holds the canonical JSON of the parsed manifest (keys
sorted, no whitespace, UTF-8 unescaped); rule files are hashed as they are.
YAML is read as the engine reads it (YAML 1.2 core schema: a date stays a
string).
"""
import hashlib
import json
import re
import sys

import yaml


class CoreLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader without YAML 1.1's timestamps, sexagesimals and yes/no booleans."""


CoreLoader.yaml_implicit_resolvers = {}
for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items():
    CoreLoader.yaml_implicit_resolvers[first] = [
        (tag, rx) for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool",
                       "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
CoreLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                 list("tTfF"))
CoreLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                                 list("-+0123456789"))


def part(name, data):
    return name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data


def digest(folder):
    with open(folder + "/manifest.yaml", "rb") as f:
        manifest = yaml.load(f, Loader=CoreLoader)
    canon = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    h = hashlib.sha256(b"spinerules-digest-v2\0")
    h.update(part("manifest.json", canon))
    for name in manifest["files"]:
        with open(folder + "/" + name, "rb") as f:
            h.update(part(name, f.read()))
    return "sha256:" + h.hexdigest()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: ruleset_digest.py RULESET_DIR...")
    for d in sys.argv[1:]:
        print(digest(d))
