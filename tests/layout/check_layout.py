#!/usr/bin/env python3
"""The agent's layout, checked (README "Layout"): user/ is grouped by pipeline stage, and each
stage's folder includes only its own headers and those of the stages before it; and no module
(a .c and its .h) depends on another that depends back on it. Prints the module graph's edges
that break either rule and exits 1, or prints the stages and exits 0."""
import collections
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
USER = os.path.join(ROOT, "user")
# earliest first; "" is the agent itself (main, config, stats), which may include anything
STAGES = ["base", "capture", "proto", "trace", "export", "session", "ingest", "metrics", ""]
INCLUDE = re.compile(r'^#include "([^"]+)"', re.M)


def modules():
    """{module: set of modules it includes}; a module is 'stage/name' (name without .c/.h)."""
    deps = collections.defaultdict(set)
    for stage in STAGES:
        folder = os.path.join(USER, stage)
        for f in sorted(os.listdir(folder)):
            if not f.endswith((".c", ".h")) or os.path.isdir(os.path.join(folder, f)):
                continue
            mod = os.path.join(stage, f[:-2]) if stage else f[:-2]
            deps[mod]
            for inc in INCLUDE.findall(open(os.path.join(folder, f)).read()):
                if os.path.exists(os.path.join(USER, inc)):
                    dep = inc[:-2]
                    if dep != mod:
                        deps[mod].add(dep)
    return deps


def stage_of(mod):
    return mod.split("/")[0] if "/" in mod else ""


def main():
    deps = modules()
    wrong = []
    for mod, ds in sorted(deps.items()):
        for d in sorted(ds):
            if STAGES.index(stage_of(d)) > STAGES.index(stage_of(mod)):
                wrong.append(f"{mod} includes {d}, a later stage")
    # cycles, by depth-first search
    state = {}

    def visit(m, path):
        state[m] = 1
        for d in sorted(deps.get(m, ())):
            if state.get(d) == 1:
                wrong.append("circle: " + " -> ".join(path[path.index(d):] + [d]))
            elif d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in sorted(deps):
        if m not in state:
            visit(m, [m])
    if wrong:
        print("\n".join(wrong))
        return 1
    for s in STAGES:
        mods = sorted(m.split("/")[-1] for m in deps if stage_of(m) == s)
        print(f"{s or '(agent)':>8}: {' '.join(mods)}")
    print(f"layout: {len(deps)} modules, "
          f"{sum(len(d) for d in deps.values())} includes, each to its own or an earlier stage, "
          "no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
