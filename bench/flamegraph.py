#!/usr/bin/env python3
"""Folds `perf script` output into stacks and draws them as a flame graph (SVG), plus a text summary.

    perf script -i perf.data | bench/flamegraph.py --title "stormgate proxy" out.svg > summary.txt

Each frame's width is its share of the samples. The summary lists, by inclusive share, the frames
that matter and the split into user space and kernel, so a reader without a browser gets the figures too.
"""
import argparse
import collections
import html
import re
import sys

FRAME = re.compile(r"^\s*[0-9a-f]+\s+(?P<sym>.+?)\s+\((?P<dso>.*)\)\s*$")


def short(sym):
    sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
    sym = sym.replace("stormgate::proxy::detail::(anonymous namespace)::", "")
    sym = sym.replace("stormgate::proxy::detail::", "").replace("boost::asio::detail::", "asio::")
    sym = sym.replace("boost::beast::", "beast::").replace("std::__cxx11::", "std::")
    # drop template arguments and parameter lists: they make the graph unreadable
    out, depth = [], 0
    for c in sym:
        if c in "<(":
            depth += 1
        elif c in ">)":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(c)
    return "".join(out).strip() or sym


def fold(lines):
    stacks = collections.Counter()
    frames = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if frames:
                stacks[";".join(reversed(frames))] += 1
            frames = []
            continue
        m = FRAME.match(line)
        if m:
            sym, dso = m.group("sym"), m.group("dso")
            if sym == "[unknown]":
                sym = "[" + dso.rsplit("/", 1)[-1] + "]"
            if "kernel" in dso:
                sym = "[k] " + sym
            frames.append(short(sym))
    if frames:
        stacks[";".join(reversed(frames))] += 1
    return stacks


def build_tree(stacks):
    root = {"name": "all", "value": 0, "kids": {}}
    for stack, n in stacks.items():
        root["value"] += n
        node = root
        for f in stack.split(";"):
            node = node["kids"].setdefault(f, {"name": f, "value": 0, "kids": {}})
            node["value"] += n
    return root


def color(name):
    if name.startswith("[k]"):
        return "rgb(230,140,60)"
    h = sum(map(ord, name)) % 60
    return "rgb(%d,%d,%d)" % (200 + h // 2, 80 + h * 2, 60)


def svg(root, title, width=1600, row=16):
    rects = []
    depth_max = [0]

    def walk(node, x, depth):
        w = node["value"] / root["value"] * width
        if w < 0.3:
            return
        depth_max[0] = max(depth_max[0], depth)
        rects.append((x, depth, w, node))
        cx = x
        for kid in sorted(node["kids"].values(), key=lambda k: k["name"]):
            walk(kid, cx, depth + 1)
            cx += kid["value"] / root["value"] * width

    walk(root, 0.0, 0)
    height = (depth_max[0] + 3) * row
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="monospace" font-size="11">'
           % (width, height),
           '<text x="4" y="13" font-size="13">%s (%d samples; orange: kernel)</text>' % (html.escape(title), root["value"])]
    for x, depth, w, node in rects:
        y = height - (depth + 1) * row
        pct = 100.0 * node["value"] / root["value"]
        label = node["name"]
        chars = int(w / 6.6)
        text = label if len(label) <= chars else (label[: chars - 2] + ".." if chars > 3 else "")
        out.append('<g><title>%s (%.2f%%)</title><rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" stroke="white" '
                   'stroke-width="0.5"/><text x="%.1f" y="%d">%s</text></g>'
                   % (html.escape(label), pct, x, y, w, row - 1, color(label), x + 2, y + row - 4, html.escape(text)))
    out.append("</svg>")
    return "\n".join(out)


def summary(stacks, total, top):
    inclusive = collections.Counter()
    self_time = collections.Counter()
    # the first frame of our own code above the leaf: what a kernel or library sample was done for
    owner = collections.Counter()
    kernel = 0
    for stack, n in stacks.items():
        frames = stack.split(";")
        if frames[-1].startswith("[k]"):
            kernel += n
        self_time[frames[-1]] += n
        for f in reversed(frames):
            if "session::" in f or "server::" in f or "traffic_log" in f or "format_exchange" in f:
                owner[f] += n
                break
        else:
            owner["(the event loop: " + next((f for f in reversed(frames) if f.startswith("asio::")), frames[-1]) + ")"] += n
        for f in set(frames):
            inclusive[f] += n
    lines = ["samples %d: kernel %.1f%%, user space %.1f%% (by the leaf frame)" %
             (total, 100.0 * kernel / total, 100.0 * (total - kernel) / total), "", "inclusive share, top %d:" % top]
    for f, n in inclusive.most_common(top):
        lines.append("  %6.2f%%  %s" % (100.0 * n / total, f))
    lines += ["", "self share (the leaf frame), top %d:" % (top // 2)]
    for f, n in self_time.most_common(top // 2):
        lines.append("  %6.2f%%  %s" % (100.0 * n / total, f))
    lines += ["", "by the proxy's own step it was spent for (innermost session/server/log frame), top %d:" % (top // 2)]
    for f, n in owner.most_common(top // 2):
        lines.append("  %6.2f%%  %s" % (100.0 * n / total, f))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("svg")
    ap.add_argument("--title", default="flame graph")
    ap.add_argument("--top", type=int, default=40)
    a = ap.parse_args()
    stacks = fold(sys.stdin)
    if not stacks:
        sys.exit("flamegraph.py: no stacks in the input (is it `perf script` output?)")
    root = build_tree(stacks)
    with open(a.svg, "w") as f:
        f.write(svg(root, a.title))
    print(summary(stacks, root["value"], a.top))


if __name__ == "__main__":
    main()
