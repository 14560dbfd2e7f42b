#!/usr/bin/env python3
"""help_man.py SPINERULES MANPAGE -- the help and the man page agree.

Every option that `spinerules --help` or `spinerules <command> --help` names
is described in the man page, and every option the man page names is in
some help (the man page's SEE ALSO names other programs' options and is left
out). Each command's help exits 0, prints on stdout only, starts with its own
usage line, and is what `spinerules help <command>` and `-h` print; every
command has its line in the man page's SYNOPSIS."""
import re
import subprocess
import sys

COMMANDS = ["eval", "verify", "check", "rules", "diff"]
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")


def run(binary, *args):
    p = subprocess.run([binary, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def man_text(path):
    """The man page as plain text, without its SEE ALSO section."""
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"\n\.SH SEE ALSO\n.*?(?=\n\.SH |\Z)", "\n", text, flags=re.S)
    text = re.sub(r"\\f[BIRP]", "", text)
    text = re.sub(r"\\\(\w\w", " ", text)  # \(oq and the like
    return text.replace("\\-", "-")


def main():
    binary, manpage = sys.argv[1], sys.argv[2]
    problems = []
    helps = {}
    rc, out, err = run(binary, "--help")
    if rc != 0 or err or not out.startswith("usage: spinerules <command>"):
        problems.append(f"spinerules --help: exit {rc}, stderr {err!r}, stdout starting {out[:40]!r}")
    helps["spinerules --help"] = out
    for cmd in COMMANDS:
        if not re.search(rf"^  {cmd}\b", out, re.M):
            problems.append(f"spinerules --help does not list the command {cmd}")
        rc, text, err = run(binary, cmd, "--help")
        name = f"spinerules {cmd} --help"
        helps[name] = text
        if rc != 0 or err:
            problems.append(f"{name}: exit {rc}, stderr {err!r}")
        if not text.startswith(f"usage: spinerules {cmd} "):
            problems.append(f"{name} does not start with its usage line: {text[:60]!r}")
        for other in (["help", cmd], [cmd, "-h"]):
            if run(binary, *other)[1] != text:
                problems.append(f"spinerules {' '.join(other)} differs from {name}")
    man = man_text(manpage)
    for cmd in COMMANDS:
        if not re.search(rf"^\.B spinerules {cmd}$", man, re.M):
            problems.append(f"{manpage}: no SYNOPSIS line '.B spinerules {cmd}'")
    in_help = {}
    for name, text in helps.items():
        for opt in OPTION.findall(text):
            in_help.setdefault(opt, name)
    in_man = set(OPTION.findall(man))
    for opt in sorted(set(in_help) - in_man):
        problems.append(f"{opt} (in '{in_help[opt]}') is not in {manpage}")
    for opt in sorted(in_man - set(in_help)):
        problems.append(f"{opt} is in {manpage} but in no --help")
    if problems:
        print("\n".join(problems))
        return 1
    print(f"ok: {len(in_help)} options, the same in the help of {len(helps)} commands and in the man page: "
          + " ".join(sorted(in_help)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
