#!/usr/bin/python3
"""CPU accounting for a benchmark phase (stdlib only).

    cpu.py PG_PID SD_PID ROOT_PID...
        → prints "<busy jiffies of the machine> <jiffies of all our processes>
                  <of PG_PID's tree> <of SD_PID's tree outside PG_PID's>"

Our processes are the trees under the given pids (the bench script, whose reaped children — wrk,
pgbench, curl — are in its cutime/cstime, and the embedded postmaster). The difference between two
snapshots tells how much of the machine other work took during the phase: on a shared 2-core box
that is the first thing to check before believing a figure.
"""
import os
import sys


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal


def processes():
    procs = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2 :].split()
        ppid = int(rest[1])
        utime, stime, cutime, cstime = (int(x) for x in rest[11:15])
        procs[int(pid)] = (ppid, utime + stime + cutime + cstime)
    return procs


def main():
    procs = processes()
    children = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)

    def tree(roots):
        seen, todo = set(), [int(p) for p in roots if p.isdigit()]
        while todo:
            pid = todo.pop()
            if pid in seen or pid not in procs:
                continue
            seen.add(pid)
            todo.extend(children.get(pid, []))
        return seen

    pg_tree = tree(sys.argv[1:2])
    ours = sum(procs[p][1] for p in tree(sys.argv[1:]))
    pg = sum(procs[p][1] for p in pg_tree)
    sd = sum(procs[p][1] for p in tree(sys.argv[2:3]) - pg_tree)
    print(machine_busy(), ours, pg, sd)


if __name__ == "__main__":
    main()
