"""What grows in the wall's JS heap: two heap snapshots `--minutes` apart, compared.

The wall page in headless Chromium over the bare DevTools protocol (CdpPage: no Network domain,
whose request records would grow in the snapshot), against the real app (`python app.py`) and
signed in as a display, as bench/wall_memory/run.py opens it. After `--settle` minutes a
first snapshot is taken, after `--minutes` more a second (a forced garbage collection before
each), and both are compared by constructor: count and self size, top 25 by size growth, by
category (page objects: JS objects, arrays, closures, strings, numbers; compiled code; V8's
system objects; native, i.e. Blink's), and in total. The page objects' growth is split by what
holds them: the nearest DOM element on their shortest path from the GC roots (React's fibers
and props of what is shown), else the global they hang from (`window.komando`, `window.store`).
For the page constructors that grow most in count, their objects are counted by their first
retainers on that path, in both snapshots: the retainers whose count grows show what keeps
the growth.

    .venv/bin/python bench/wall_memory/heap_diff.py [--minutes 30] [--settle 3] [--big]
                                                    [--no-grab] [--keep DIR]
    .venv/bin/python bench/wall_memory/heap_diff.py --compare FIRST SECOND  # kept snapshots
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.wall_memory.cdp_page import CdpPage  # noqa: E402
from bench.wall_memory.run import big_city, open_wall, server_rss_mb  # noqa: E402
from tests.browser.conftest import running_komando  # noqa: E402

PAGE_TYPES = {
    "object", "array", "closure", "string", "concatenated string", "sliced string",
    "number", "regexp", "symbol", "bigint",
}  # fmt: skip
CATEGORIES = {
    "page": "page objects",
    "code": "compiled code",
    "system": "system",
    "native": "native",
}
STRING_TYPES = {"string", "concatenated string", "sliced string"}
WEAK_EDGES = {"weak", "shortcut"}


def category(node_type: str, name: str) -> str:
    if node_type == "code":
        return "code"  # machine code, bytecode, feedback vectors, function infos
    if node_type in PAGE_TYPES:
        return "page"  # closures' scopes ("system / Context") included
    if node_type == "native" and not name.startswith("system / "):
        return "native"  # Blink's objects (DOM, layout, performance entries)
    return "system"  # V8's own: maps, property cells, external string data, roots


def group_of(node_type: str, name: str) -> str:
    """The row DevTools' summary would put a node in (V8's internal names without their @id)."""
    if node_type in STRING_TYPES:
        return "(string)"
    if name.startswith("system / "):
        name = " / ".join(name.split(" / ")[:2]).split(" @")[0]
    if node_type == "code":
        return f"(compiled code) {name}" if name.startswith("system") else "(compiled code)"
    if node_type == "hidden":
        return "(system)"
    if node_type == "closure":
        return f"(closure) {name}" if name else "(closure)"
    if node_type == "array":
        return f"(array) {name}"
    if node_type in ("object", "native", "object shape", "synthetic"):
        return name
    return f"({node_type})"


@dataclass
class Snapshot:
    """A .heapsnapshot, kept as its flat arrays (a few hundred thousand nodes)."""

    nodes: list[int]
    edges: list[int]
    strings: list[str]
    node_types: list[str]
    edge_types: list[str]
    node_width: int
    edge_width: int
    f_type: int
    f_name: int
    f_id: int
    f_size: int
    f_edges: int
    e_type: int
    e_name: int
    e_to: int

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        raw = json.loads(path.read_text())
        meta = raw["snapshot"]["meta"]
        nf, ef = meta["node_fields"], meta["edge_fields"]
        return cls(
            nodes=raw["nodes"],
            edges=raw["edges"],
            strings=raw["strings"],
            node_types=meta["node_types"][nf.index("type")],
            edge_types=meta["edge_types"][ef.index("type")],
            node_width=len(nf),
            edge_width=len(ef),
            f_type=nf.index("type"),
            f_name=nf.index("name"),
            f_id=nf.index("id"),
            f_size=nf.index("self_size"),
            f_edges=nf.index("edge_count"),
            e_type=ef.index("type"),
            e_name=ef.index("name_or_index"),
            e_to=ef.index("to_node"),
        )

    def count(self) -> int:
        return len(self.nodes) // self.node_width

    def type_of(self, i: int) -> str:
        return self.node_types[self.nodes[i * self.node_width + self.f_type]]

    def name_of(self, i: int) -> str:
        return self.strings[self.nodes[i * self.node_width + self.f_name]]

    def id_of(self, i: int) -> int:
        return self.nodes[i * self.node_width + self.f_id]

    def size_of(self, i: int) -> int:
        return self.nodes[i * self.node_width + self.f_size]

    def groups(self) -> dict[str, tuple[str, int, int]]:
        """{group: (category, count, self size)}."""
        counts: Counter[str] = Counter()
        sizes: Counter[str] = Counter()
        cats: dict[str, str] = {}
        for i in range(self.count()):
            node_type, name = self.type_of(i), self.name_of(i)
            group = group_of(node_type, name)
            counts[group] += 1
            sizes[group] += self.size_of(i)
            cats[group] = category(node_type, name)
        return {g: (cats[g], counts[g], sizes[g]) for g in counts}

    def edge_label(self, e: int) -> str:
        edge_type = self.edge_types[self.edges[e + self.e_type]]
        name = self.edges[e + self.e_name]
        if edge_type in ("element", "hidden"):
            return f"[{name}]"
        return (
            f".{self.strings[name]}"
            if edge_type == "property"
            else f"<{edge_type}:{self.strings[name]}>"
        )

    def shortest_parents(self) -> list[tuple[int, int]]:
        """(parent node, edge offset) of each node on its shortest strong path from the root
        (node 0); (-1, -1) where there is none. Breadth first, as DevTools' distance; the
        order of the walk is kept in `self.order` (each node after its parent)."""
        self.order = [0]
        parents = [(-1, -1)] * self.count()
        parents[0] = (0, -1)
        first_edge = [0] * (self.count() + 1)
        for i in range(self.count()):
            first_edge[i + 1] = first_edge[i] + self.nodes[i * self.node_width + self.f_edges]
        queue = deque([0])
        while queue:
            i = queue.popleft()
            for k in range(first_edge[i], first_edge[i + 1]):
                e = k * self.edge_width
                if self.edge_types[self.edges[e + self.e_type]] in WEAK_EDGES:
                    continue
                j = self.edges[e + self.e_to] // self.node_width
                if parents[j][0] == -1:
                    parents[j] = (i, e)
                    queue.append(j)
                    self.order.append(j)
        return parents

    def holders(self, parents: list[tuple[int, int]]) -> list[str]:
        """What holds each node, on its shortest path: the nearest DOM element ("DOM <div
        class=…>": React's fibers and props of what is shown), else the global it hangs from
        ("window.komando"), else "other" (V8's roots, DevTools' handles)."""
        held = ["other"] * self.count()
        for j in self.order[1:]:
            i, e = parents[j]
            kind, name = self.type_of(i), self.name_of(i)
            if kind == "native" and name.startswith("<"):
                held[j] = "DOM " + re.sub(r"\d+", "#", name.split(" data-")[0])[:60]
            elif name.startswith("Window") and self.edge_types[self.edges[e + self.e_type]] in (
                "property",
                "element",
            ):
                held[j] = "window" + self.edge_label(e)
            else:
                held[j] = held[i]
        return held

    def path_to(self, i: int, parents: list[tuple[int, int]], depth: int) -> list[str]:
        """The first `depth` retainers of node `i` on its shortest path, nearest first; a
        retainer repeated in a row (a linked list's `.next`) is one step, "(×n)"."""
        steps: list[str] = []
        repeats = 1
        while i != 0:
            parent, e = parents[i]
            if parent == -1:
                step = "(unreachable)"
            else:
                step = f"{self.edge_label(e)} in {self.type_of(parent)} {self.name_of(parent)!r}"
                step = step[:110]
            if steps and step == steps[-1].split(" (×")[0]:
                repeats += 1
                steps[-1] = f"{step} (×{repeats})"
            elif len(steps) == depth:
                break
            else:
                steps.append(step)
                repeats = 1
            if parent == -1:
                break
            i = parent
        return steps


def take_snapshot(wall: CdpPage, path: Path) -> float:
    """Forced GC, then a heap snapshot written to `path`; returns JSHeapUsedSize in MB."""
    wall.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in wall.send("Performance.getMetrics")["metrics"]}
    with path.open("w") as out:

        def chunk(method: str, params: dict) -> None:
            if method == "HeapProfiler.addHeapSnapshotChunk":
                out.write(params["chunk"])

        wall.send_with_events("HeapProfiler.takeHeapSnapshot", chunk, reportProgress=False)
    return metrics["JSHeapUsedSize"] / 2**20


def compare(before: Snapshot, after: Snapshot, minutes: float, samples: int) -> None:
    print(f"nodes in the snapshots: {before.count()} → {after.count()}")
    old, new = before.groups(), after.groups()
    rows = []
    for group in set(old) | set(new):
        cat = (new.get(group) or old[group])[0]
        _, n0, s0 = old.get(group, (cat, 0, 0))
        _, n1, s1 = new.get(group, (cat, 0, 0))
        rows.append((group, cat, n1 - n0, s1 - s0, s1))
    print(f"\ngrowth over {minutes:.1f} min, by category (self size):")
    print(f"  {'category':15} {'count Δ':>9} {'size Δ KB':>10} {'size after KB':>14} {'KB/h':>8}")
    for cat, label in (*CATEGORIES.items(), ("all", "total")):
        mine = [r for r in rows if cat in ("all", r[1])]
        dn, ds, s1 = sum(r[2] for r in mine), sum(r[3] for r in mine), sum(r[4] for r in mine)
        print(f"  {label:15} {dn:+9d} {ds / 1024:+10.1f} {s1 / 1024:14.1f} "
              f"{ds / 1024 / minutes * 60:+8.1f}")  # fmt: skip
    print("\ntop 25 by size growth:")
    print(f"  {'constructor / type':48} {'category':8} {'count Δ':>9} {'size Δ KB':>10}")
    for group, cat, dn, ds, _ in sorted(rows, key=lambda r: -r[3])[:25]:
        print(f"  {group[:48]:48} {cat:8} {dn:+9d} {ds / 1024:+10.1f}")
    print("\nlargest shrinkage (for balance):")
    for group, cat, dn, ds, _ in sorted(rows, key=lambda r: r[3])[:5]:
        print(f"  {group[:48]:48} {cat:8} {dn:+9d} {ds / 1024:+10.1f}")

    # Who holds the page's objects, in both snapshots: what is shown (the DOM) or the scripts.
    by_holder = [holder_sizes(snapshot) for snapshot in (before, after)]
    print("\npage objects by what holds them (nearest DOM element or global), size Δ KB:")
    deltas = {
        h: by_holder[1].get(h, 0) - by_holder[0].get(h, 0) for h in {*by_holder[0], *by_holder[1]}
    }
    for kind in ("DOM", "window", "other"):
        mine = {h: d for h, d in deltas.items() if h.split(" ")[0].split(".")[0] == kind}
        print(
            f"  {kind:8} {sum(mine.values()) / 1024:+8.1f}   largest: "
            + ", ".join(
                f"{h} {d / 1024:+.1f}"
                for h, d in sorted(mine.items(), key=lambda x: -abs(x[1]))[:4]
            )
        )

    # Retainers: for the page groups that grow most in count, where they grow: each object's
    # first retainers on its shortest path (indices and ids left out), counted in both.
    growing = [r for r in sorted(rows, key=lambda r: -r[2]) if r[1] == "page" and r[2] > 0][:5]
    if not growing or samples <= 0:
        return
    wanted = {g for g, *_ in growing}
    counted = [retainer_counts(snapshot, wanted) for snapshot in (before, after)]
    print("\nwhere the most growing page groups grow (first retainers, count before → after):")
    for group, _cat, dn, _ds, _ in growing:
        (old, _), (new, examples) = counted[0][group], counted[1][group]
        print(f"  {group} ({dn:+d}):")
        for key in sorted(new, key=lambda k: old.get(k, 0) - new[k])[:samples]:
            if new[key] > old.get(key, 0):
                print(
                    f"    {old.get(key, 0)} → {new[key]}: ← " + "\n        ← ".join(examples[key])
                )


def holder_sizes(snapshot: Snapshot) -> Counter[str]:
    """Self size of the page's objects, by what holds them (Snapshot.holders)."""
    held = snapshot.holders(snapshot.shortest_parents())
    sizes: Counter[str] = Counter()
    for i in range(snapshot.count()):
        if category(snapshot.type_of(i), snapshot.name_of(i)) == "page":
            sizes[held[i]] += snapshot.size_of(i)
    return sizes


def retainer_counts(
    snapshot: Snapshot, groups: set[str]
) -> dict[str, tuple[Counter[tuple[str, ...]], dict[tuple[str, ...], list[str]]]]:
    """{group: (count of its nodes by their first four retainers, an example path of each)}."""
    parents = snapshot.shortest_parents()
    result: dict = {g: (Counter(), {}) for g in groups}
    for i in range(snapshot.count()):
        group = group_of(snapshot.type_of(i), snapshot.name_of(i))
        if group in result:
            path = snapshot.path_to(i, parents, 10)
            key = tuple(re.sub(r"\d+", "#", step) for step in path[:4])
            result[group][0][key] += 1
            result[group][1].setdefault(key, path)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="between the snapshots")
    parser.add_argument("--settle", type=float, default=3.0, help="minutes before the first")
    parser.add_argument("--big", action="store_true", help="500 sensors, 50 KPIs, 16 cameras")
    parser.add_argument("--no-grab", action="store_true", help="without the grab role")
    parser.add_argument("--keep", type=Path, help="a folder to keep the two snapshots in")
    parser.add_argument("--samples", type=int, default=3, help="retainer paths per constructor")
    parser.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("FIRST", "SECOND"),
        help="only compare two snapshots kept before (minutes apart: their files' times)",
    )
    args = parser.parse_args(argv)
    if args.compare:
        first, second = args.compare
        minutes = (second.stat().st_mtime - first.stat().st_mtime) / 60
        compare(Snapshot.load(first), Snapshot.load(second), minutes, args.samples)
        return 0
    with tempfile.TemporaryDirectory(prefix="komando-heap-diff-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        env = big_city(Path(tmp) / "cities") if args.big else {}
        if args.no_grab:
            env["KOMANDO_ROLES"] = "web,ingest"
        data = Path(tmp) / "data"
        data.mkdir()
        with running_komando(data, **env) as url, open_wall("cdp", url) as wall:
            port = int(url.rstrip("/").rsplit(":", 1)[1])
            print(f"wall open at {url}; settling {args.settle:g} min", flush=True)
            time.sleep(args.settle * 60)
            heap0 = take_snapshot(wall, folder / "first.heapsnapshot")
            started = time.monotonic()
            print(f"first snapshot: JS heap {heap0:.2f} MB", flush=True)
            while (waited := time.monotonic() - started) < args.minutes * 60:
                time.sleep(min(300.0, args.minutes * 60 - waited))
                if math.isnan(server_rss_mb(port)):  # the server is gone
                    print("the server no longer listens: the page is not fed, stopping")
                    return 1
                wall.send("HeapProfiler.collectGarbage")
                metrics = {
                    m["name"]: m["value"] for m in wall.send("Performance.getMetrics")["metrics"]
                }
                print(f"  {(time.monotonic() - started) / 60:5.1f} min: JS heap "
                      f"{metrics['JSHeapUsedSize'] / 2**20:.2f} MB, {metrics['Nodes']:.0f} nodes, "
                      f"{metrics['JSEventListeners']:.0f} listeners", flush=True)  # fmt: skip
            heap1 = take_snapshot(wall, folder / "second.heapsnapshot")
            minutes = (time.monotonic() - started) / 60
            print(f"second snapshot: JS heap {heap1:.2f} MB ({heap1 - heap0:+.2f} MB)", flush=True)
        before = Snapshot.load(folder / "first.heapsnapshot")
        compare(before, Snapshot.load(folder / "second.heapsnapshot"), minutes, args.samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
