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


# The image's helpers (compose/Dockerfile copies them): how their arguments map onto stormgate's.
HELPERS = {"stormgate-chaos": "compose/chaos", "stormgate-supervise": "compose/supervise",
           "stormgate-restart": "compose/restart", "stormgate-probe": "compose/probe"}


def interpolate(text):
    """compose's ${VAR:-default} / ${VAR-default} / ${VAR}, with every variable unset."""
    return re.sub(r"\$\{\w+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", str(text))


def invocations(argv):
    """stormgate argument lists in a container's command: a list, or `sh -c "a && b"`.
    `stormgate-supervise DIR stormgate ARGS` runs ARGS; `stormgate-chaos ARGS` passes ARGS to `stormgate load`."""
    if not argv:
        return []
    if argv[0] == "stormgate-supervise":
        argv = argv[2:]
    if argv and argv[0] == "stormgate-chaos":
        return [["load", *argv[1:]]]
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


def env_of(s):
    env = s.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    return env


def depends_of(s):
    d = s.get("depends_on") or []
    return set(d) if isinstance(d, list) else set(d.keys())


def check_compose(path, base=None):
    doc = yaml.safe_load(path.read_text())
    # docker-compose 1.29 (Debian 12) refuses keys of the newer spec, such as the top-level `name:`
    for key in doc:
        if key not in ("services", "volumes", "networks", "configs", "secrets") and not key.startswith("x-"):
            errors.append(f"{path.name}: top-level key '{key}': docker-compose 1.29 rejects it")
    svcs = dict((base or {}).get("services", {}))
    svcs.update(doc.get("services", {}))
    listening, calls = {}, {}
    for name, s in svcs.items():
        entry = s.get("entrypoint") or []
        entry = [entry] if isinstance(entry, str) else entry
        cmd = s.get("command") or []
        calls[name] = invocations(entry + cmd if isinstance(cmd, list) else [])
        ports = set()
        for args in calls[name]:
            check_invocation(f"{path.name}: {name}", args)
            p, _ = listeners_and_urls(args)
            ports |= p
        if name == "backend" and not calls[name]:  # BRAiN's own backend service
            ports.add(8000)
        listening[name] = ports
        for word in entry + (cmd if isinstance(cmd, list) else []):
            if word.startswith("stormgate-") and word not in HELPERS:
                errors.append(f"{path.name}: {name}: '{word}' is no helper of the image ({sorted(HELPERS)})")
        hc = (s.get("healthcheck") or {}).get("test") or []
        if hc[:2] == ["CMD", "stormgate"]:
            check_invocation(f"{path.name}: {name} healthcheck", hc[2:])
        elif hc[:2] == ["CMD", "stormgate-probe"] and int(hc[2].rsplit(":", 1)[1]) not in ports:
            errors.append(f"{path.name}: {name}: the healthcheck probes {hc[2]}, which {name} does not listen on")
        if calls[name] and "profiles" not in s and not hc:
            errors.append(f"{path.name}: {name} has no healthcheck (scripts/compose-smoke waits for every service)")
        if "build" in s and base is not None:
            errors.append(f"{path.name}: {name}: `build` in an override resolves against the other project's folder")
    for name, s in svcs.items():
        env_urls = [v for k, v in env_of(s).items() if k.endswith("_URL") and v]
        check_urls(f"{path.name}: {name} environment", listening, env_urls, name)
        for args in calls[name]:
            _, urls = listeners_and_urls(args)
            check_urls(f"{path.name}: {name}", listening, urls, name)
            # a proxy's upstreams and a load's target must be up before it: depends_on names them
            if args[0] in ("proxy", "load"):
                for url in sorted(set(urls + env_urls)):
                    m = re.search(r"http://([\w-]+):", url)
                    if m and m.group(1) in svcs and m.group(1) != name and m.group(1) not in depends_of(s):
                        errors.append(f"{path.name}: {name} talks to {m.group(1)} but does not depend_on it")
        for spec in s.get("ports", []) or []:
            parts = interpolate(spec).split(":")
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
    if (doc.get("permissions") or {}).get("checks") != "write":
        errors.append(f"{path.name}: `permissions: checks: write` is missing (the JUnit report publishes a check)")
    for job in doc["jobs"].values():
        for step in job["steps"]:
            for p in str((step.get("with") or {}).get("path", "")).split():
                if "logs" in p or p.rstrip("/").endswith("compose-smoke"):
                    errors.append(f"{path.name}: uploads {p}: upload the reports, not the logs")
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
        if src.rstrip("/") == "build/compose-root":  # staged by compose/build-image before the build
            if "compose/stage-root" not in (ROOT / "compose/build-image").read_text():
                errors.append(f"{path.name}: COPY {src}: compose/build-image does not stage it")
        elif src != "." and not list(ROOT.glob(src)):
            errors.append(f"{path.name}: COPY {src}: nothing there")
    for helper, src in HELPERS.items():
        if not re.search(rf"^COPY {re.escape(src)} /usr/local/bin/{helper}$", text, re.M):
            errors.append(f"{path.name}: no `COPY {src} /usr/local/bin/{helper}`")
        elif not (ROOT / src).stat().st_mode & 0o111:
            errors.append(f"{src} is not executable")
    ignore = (ROOT / ".dockerignore").read_text().split() if (ROOT / ".dockerignore").exists() else []
    for pat in ("build*/", "!build/compose-root/", ".git"):
        if pat not in ignore:
            errors.append(f".dockerignore lacks '{pat}' (build/ is hundreds of MB; the image needs build/compose-root/)")
    needed = re.search(r"pkgs=\(([^)]*)\)", (ROOT / "scripts/install-deps").read_text()).group(1).split()
    for p in needed:
        if p.endswith("-dev") and p not in ("catch2",) and p not in text:
            errors.append(f"{path.name}: build stage lacks {p} (scripts/install-deps has it)")


base = check_compose(ROOT / "compose/docker-compose.yml")
check_compose(ROOT / "compose/docker-compose.brain.yml", {"services": {"backend": {}}})
check_k8s(ROOT / "compose/k8s/stormgate.yaml")
check_workflow(ROOT / "compose/ci/github-actions.yml")
check_dockerfile(ROOT / "compose/Dockerfile")
# the chaos helper's own stormgate invocations
for line in re.sub(r"\\\n", " ", (ROOT / "compose/chaos").read_text()).splitlines():
    m = re.match(r"\s*stormgate (load|check) ", line)
    if m:
        check_invocation("compose/chaos", [w for w in shlex.split(line.split(">")[0])[1:] if not w.startswith('"$')])
    elif re.match(r"\s*(\[.*\] && )?set -- ", line):  # the argument lists it builds for load and check
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", line):
            if flag not in flags_of("load") | flags_of("check"):
                errors.append(f"compose/chaos: neither `stormgate load` nor `check` has {flag}")
checked = len(_help)
if errors:
    print("\n".join(errors))
    print(f"0 passed, {len(errors)} failed")
    sys.exit(1)
print(f"compose: {checked} subcommands' flags checked against the binary")
