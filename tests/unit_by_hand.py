#!/usr/bin/python3
"""Runs a command under the system-call filter of a systemd unit, as systemd would.

Usage: unit_by_hand.py UNIT_FILE -- COMMAND [ARGS...]

Reads every `SystemCallFilter=` line of the unit in order (an allow list first, then `~`
lines remove and plain lines add back, as systemd does), expands the `@groups` with
`systemd-analyze syscall-filter`, and installs the result with libseccomp (Debian's
python3-seccomp): calls outside it fail with the unit's `SystemCallErrorNumber=`. Then it
execs the command. The caller sets the user, capabilities and no_new_privs first (setpriv),
as systemd does before it installs the filter.

Used by tests/it/deploy.rs on machines whose PID 1 is not systemd.
"""

import errno
import os
import subprocess
import sys

import seccomp


def group_members(name, seen=None):
    """System calls in a group, nested groups expanded."""
    seen = set() if seen is None else seen
    if name in seen:
        return set()
    seen.add(name)
    out = subprocess.run(
        ["systemd-analyze", "syscall-filter", name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        if item.startswith("@"):
            calls |= group_members(item, seen)
        else:
            calls.add(item)
    return calls


def names(words):
    calls = set()
    for w in words:
        calls |= group_members(w) if w.startswith("@") else {w}
    return calls


def unit_filter(path):
    allowed = None
    errno_name = "EPERM"
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if line.startswith("SystemCallErrorNumber="):
                errno_name = line.split("=", 1)[1].strip()
            if not line.startswith("SystemCallFilter="):
                continue
            value = line.split("=", 1)[1].strip()
            deny = value.startswith("~")
            words = value.lstrip("~").split()
            if allowed is None:
                if deny:
                    sys.exit("unit_by_hand: only allow-list filters are supported")
                # systemd always allows the @default group in an allow list.
                allowed = names(words) | group_members("@default")
            elif deny:
                allowed -= names(words)
            else:
                allowed |= names(words)
    if allowed is None:
        sys.exit("unit_by_hand: the unit sets no SystemCallFilter=")
    return allowed, getattr(errno, errno_name)


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    allowed, err = unit_filter(sys.argv[1])
    f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(err))
    known = 0
    for call in sorted(allowed):
        try:
            f.add_rule(seccomp.ALLOW, call)
            known += 1
        except (RuntimeError, ValueError, OSError):
            # A call of another architecture (arm_fadvise64_64 on x86-64): systemd skips it too.
            pass
    f.load()
    print(f"unit_by_hand: {known} system calls allowed, the rest fail with {err}", file=sys.stderr)
    os.execvp(sys.argv[3], sys.argv[3:])


if __name__ == "__main__":
    main()
