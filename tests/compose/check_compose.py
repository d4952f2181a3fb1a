#!/usr/bin/env python3
"""Checks the docker compose, Kubernetes and CI examples under compose/ against the real binary,
without a Docker engine: every file parses, every stormgate invocation names a real subcommand and
real flags, every URL between services points at a port that service listens on, and admin ports
are published on loopback only.   usage: check_compose.py STORMGATE_BIN PROJECT_DIR"""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

BIN, ROOT = sys.argv[1], Path(sys.argv[2])
errors = []
_help = {}


def flags_of(sub):
    if sub not in _help:
        out = subprocess.run([BIN, sub, "--help"], capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            errors.append(f"`stormgate {sub} --help` failed: {out.stderr.strip()}")
        _help[sub] = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", out.stdout))
    return _help[sub]


def invocations(argv):
    """stormgate argument lists in a container's command: a list, or `sh -c "a && b"`."""
    if not argv:
        return []
    if argv[:2] in (["/bin/sh", "-c"], ["sh", "-c"]):
        argv = argv[2:]
    if len(argv) == 1 and " " in argv[0]:
        out = []
        for part in re.split(r"&&|;|\n", argv[0]):
            words = shlex.split(part)
            if words and words[0] == "stormgate":
                out.append(words[1:])
        return out
    if argv and argv[0] == "stormgate":
        argv = argv[1:]
    return [argv]


def check_invocation(where, args):
    sub = args[0]
    known = flags_of(sub)
    if not known:
        errors.append(f"{where}: unknown subcommand '{sub}'")
        return
    for a in args[1:]:
        if a.startswith("--") and a.split("=")[0] not in known:
            errors.append(f"{where}: `stormgate {sub}` has no flag {a}")


def listeners_and_urls(args):
    """Ports a stormgate process listens on, and the URLs it talks to."""
    ports, urls = set(), []
    for i, a in enumerate(args):
        nxt = args[i + 1] if i + 1 < len(args) else ""
        if a in ("--listen", "--admin"):
            ports.add(int(nxt.rsplit(":", 1)[1]))
        if a == "--route":
            m = re.fullmatch(r"([\w-]+)=([\w.\[\]:]+):(\d+)->(http://\S+)", nxt)
            if not m:
                errors.append(f"bad --route '{nxt}' (NAME=HOST:PORT->URL)")
                continue
            ports.add(int(m.group(3)))
            urls.append(m.group(4))
        if a in ("--karma-url", "--base-url", "--admin-url", "--events-url"):
            urls.append(nxt)
    return ports, urls


def check_urls(where, services, urls, same_host, local=None):
    """`services`: host name -> ports; 127.0.0.1 means `same_host`, whose ports are `local` when given."""
    for url in urls:
        m = re.match(r"http://([^:/]+):(\d+)", url)
        if not m:
            errors.append(f"{where}: URL without host:port: {url}")
            continue
        host, port = m.group(1), int(m.group(2))
        target = same_host if host in ("127.0.0.1", "localhost") else host
        if local is not None and target == same_host:
            if port not in local:
                errors.append(f"{where}: {url}: nothing in the pod listens on {port} ({sorted(local)})")
        elif target not in services:
            errors.append(f"{where}: {url} names '{host}', which is no service here")
        elif port not in services[target]:
            errors.append(f"{where}: {url}: '{target}' listens on {sorted(services[target])}, not {port}")


def check_compose(path, base=None):
    doc = yaml.safe_load(path.read_text())
    svcs = dict((base or {}).get("services", {}))
    svcs.update(doc.get("services", {}))
    listening, calls = {}, {}
    for name, s in svcs.items():
        calls[name] = invocations((s.get("entrypoint") or []) + (s.get("command") or [])
                                  if isinstance(s.get("command"), list) else [])
        ports = set()
        for args in calls[name]:
            check_invocation(f"{path.name}: {name}", args)
            p, _ = listeners_and_urls(args)
            ports |= p
        if name == "backend" and not calls[name]:  # BRAiN's own backend service
            ports.add(8000)
        listening[name] = ports
    for name, s in svcs.items():
        for args in calls[name]:
            _, urls = listeners_and_urls(args)
            check_urls(f"{path.name}: {name}", listening, urls, name)
        for spec in s.get("ports", []) or []:
            parts = str(spec).split(":")
            if len(parts) != 3 or parts[0] != "127.0.0.1":
                errors.append(f"{path.name}: {name} publishes '{spec}': publish on 127.0.0.1 only")
            elif int(parts[2]) not in listening[name]:
                errors.append(f"{path.name}: {name} publishes {parts[2]}, which it does not listen on")
    return doc


def check_k8s(path):
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    pods = {}
    for d in docs:
        spec = d.get("spec", {}).get("template", {}).get("spec", {})
        for c in spec.get("containers", []):
            argv = (c.get("command") or []) + (c.get("args") or [])
            for args in invocations(argv):
                check_invocation(f"{path.name}: {c['name']}", args)
                pods.setdefault(d["metadata"]["name"], []).append(args)
    listening = {}
    for pod, calls in pods.items():
        listening[pod] = set().union(*(listeners_and_urls(a)[0] for a in calls))
    svc_ports = {}
    for d in docs:
        if d.get("kind") == "Service":
            target = d["spec"]["selector"]["app"]
            svc_ports[d["metadata"]["name"]] = {p["port"] for p in d["spec"]["ports"]}
            for p in d["spec"]["ports"]:
                if p["targetPort"] not in listening.get(target, set()):
                    errors.append(f"{path.name}: Service {d['metadata']['name']} targets {p['targetPort']}, not listened on")
    for pod, calls in pods.items():
        for args in calls:
            check_urls(f"{path.name}: {pod}", svc_ports, listeners_and_urls(args)[1], pod, listening[pod])


def check_workflow(path):
    doc = yaml.safe_load(path.read_text())
    for job in doc["jobs"].values():
        for step in job["steps"]:
            for line in (step.get("run") or "").splitlines():
                words = shlex.split(line.strip()) if "stormgate" in line else []
                if words and words[0].endswith("/stormgate"):
                    check_invocation(f"{path.name}", words[1:])
                elif words and words[0].startswith("scripts/") and not (ROOT / words[0]).exists():
                    errors.append(f"{path.name}: {words[0]} does not exist")


def check_dockerfile(path):
    text = path.read_text()
    for src in re.findall(r"^COPY (?!--from)(\S+)", text, re.M):
        if src != "." and not list(ROOT.glob(src)):
            errors.append(f"{path.name}: COPY {src}: nothing there")
    needed = re.search(r"pkgs=\(([^)]*)\)", (ROOT / "scripts/install-deps").read_text()).group(1).split()
    for p in needed:
        if p.endswith("-dev") and p not in ("catch2",) and p not in text:
            errors.append(f"{path.name}: build stage lacks {p} (scripts/install-deps has it)")


base = check_compose(ROOT / "compose/docker-compose.yml")
check_compose(ROOT / "compose/docker-compose.brain.yml", {"services": {"backend": {}}})
check_k8s(ROOT / "compose/k8s/stormgate.yaml")
check_workflow(ROOT / "compose/ci/github-actions.yml")
check_dockerfile(ROOT / "compose/Dockerfile")
checked = len(_help)
if errors:
    print("\n".join(errors))
    print(f"0 passed, {len(errors)} failed")
    sys.exit(1)
print(f"compose: {checked} subcommands' flags checked against the binary")
