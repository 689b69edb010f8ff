#!/usr/bin/python3
"""Static checks of jobd's deployment files (deploy/), run by tests/deploy/deploy_files_test.sh.

  check_manifests.py [--repo ROOT] [--jobd JOBD] [--jobctl JOBCTL] [--kubectl KUBECTL|none]

No Docker engine, cluster or registry is needed. What it checks, per file:
- every YAML file: parses, and no mapping repeats a key (PyYAML would keep the last silently);
- every JOBD_* variable set anywhere is a real one: jobd's are the flags listed in
  server/config.cc (kEnvFlags: ApplyEnvironment ignores any other name), jobctl's its
  envname() options; a typo would otherwise be ignored without a word;
- deploy/Dockerfile: multi-stage on Debian 12, the build stage installs the build part of
  deploy/install-deps.sh and builds only jobd and jobctl; the runtime stage installs the
  packages of every library jobd and jobctl link (readelf NEEDED -> ldd -> dpkg -S, with
  --jobd/--jobctl), runs as a fixed non-root uid, has a HEALTHCHECK, EXPOSEs the ports jobd
  listens on, copies only files that exist;
- deploy/compose.yaml: interpolation (every ${VAR} has a default or an error message; a
  shell $ is written $$), depends_on conditions and what they need (service_healthy: a
  health check; service_completed_successfully: a one-shot), PostgreSQL 15 with a volume and
  a health check, the migration, two or more jobd replicas with distinct loopback-only ports,
  the worker's key file made by the keys service on a shared volume;
- deploy/k8s: each kustomization (base and overlays) builds (kubectl kustomize when there is
  a kubectl, else a small emulation of the fields used here), and its output: apiVersion,
  kind and name on every object; the Deployment (>= 2 replicas, selector matches the pod
  labels, readiness/liveness/startup probes on declared ports, grpc probe on the gRPC port,
  requests and limits, non-root, read-only root, no capabilities, no privilege escalation,
  RuntimeDefault seccomp, grace period above preStop + shutdown_grace); the Services and the
  PodDisruptionBudget select the Deployment's pods; the migrate Job runs `migrate`; every
  Secret and ConfigMap referenced exists in the output (or is made by a CloudNativePG
  Cluster there); the database URL comes from a Secret;
- deploy/systemd/jobd.service: the sandboxing directives (systemd-analyze runs in
  systemd_verify_test.sh);
- with --jobd: the settings of every deployment (compose services, Kubernetes pods, the
  systemd environment file, the image's defaults) are given to the real jobd (`jobd migrate`
  against a database socket that does not exist): jobd must accept them (exit 1: database
  unreachable) rather than refuse them (exit 2: bad configuration). The image's defaults
  without TLS or --allow_insecure_listen must be refused (exit 2), or the check proves nothing.

Prints one line per check and ends with "N passed, N failed"; exits 1 if any failed.
"""

import argparse
import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import yaml

# ---- reporting ---------------------------------------------------------------------------------

PASSED = 0
FAILED = 0


def check(what, ok, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print(f"ok: {what}")
    else:
        FAILED += 1
        print(f"FAIL: {what}" + (f": {detail}" if detail else ""))
    return ok


def info(text):
    print(f"note: {text}")


# ---- YAML with duplicate keys refused ---------------------------------------------------------


class StrictLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node, deep=deep))


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.load_all(f, Loader=StrictLoader) if d is not None]


def load_yaml_docs_text(text):
    return [d for d in yaml.load_all(text, Loader=StrictLoader) if d is not None]


# ---- what jobd and jobctl accept ---------------------------------------------------------------


def jobd_env_names(repo):
    text = open(os.path.join(repo, "server/config.cc"), encoding="utf-8").read()
    m = re.search(r"kEnvFlags\[\]\s*=\s*\{(.*?)\};", text, re.S)
    if not m:
        return set()
    return {"JOBD_" + n.upper() for n in re.findall(r'"([a-z0-9_]+)"', m.group(1))}


def jobctl_env_names(repo):
    names = set()
    folder = os.path.join(repo, "client/jobctl")
    for name in os.listdir(folder):
        if name.endswith(".cc"):
            text = open(os.path.join(folder, name), encoding="utf-8").read()
            names.update(re.findall(r'envname\("([A-Z0-9_]+)"\)', text))
    return names


# Read by the image's scripts (deploy/docker/), not by jobd.
IMAGE_SCRIPT_ENV = {"JOBD_HEALTHCHECK_CERT_FILE", "JOBD_HEALTHCHECK_KEY_FILE", "JOBD_BIN"}
# libpq's own environment (jobd connects through libpq).
LIBPQ_ENV = {"PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY", "PGCONNECT_TIMEOUT",
             "PGAPPNAME", "PGTARGETSESSIONATTRS", "PGPASSFILE"}


def check_env_names(where, env, allowed):
    bad = sorted(k for k in env if k.startswith("JOBD_") and k not in allowed)
    check(f"{where}: every JOBD_* variable is one jobd/jobctl reads", not bad,
          "unknown: " + ", ".join(bad))


def is_loopback(address):
    host = address
    if host.startswith("["):
        host = host[1:host.find("]")]
    elif host.count(":") == 1:
        host = host.split(":")[0]
    return host == "localhost" or host.startswith("127.") or host == "::1"


def port_of(address):
    return int(address.rsplit(":", 1)[1])


# ---- deploy/install-deps.sh and the Dockerfile --------------------------------------------------

# install-deps.sh packages that building jobd and jobctl does not need: the test database,
# test-only tools, the fuzzing toolchain, the browser, Node, formatting, benchmarks.
NOT_FOR_THE_IMAGE_BUILD = {
    "postgresql", "postgresql-contrib", "python3-grpcio", "python3-protobuf", "openssl",
    "clang-format-14", "chromium", "libfaketime", "clang-14", "libclang-rt-14-dev", "llvm-14",
    "libbenchmark-dev", "nodejs", "npm", "python3-yaml", "shellcheck", "systemd", "curl",
}
# Runtime packages that are not libraries the binaries link.
RUNTIME_EXTRAS = {"ca-certificates", "tzdata", "curl"}
# In every Debian image (Essential or required): no need to list them.
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}


def install_deps_packages(repo):
    text = open(os.path.join(repo, "deploy/install-deps.sh"), encoding="utf-8").read()
    m = re.search(r"^packages=\((.*?)^\)", text, re.S | re.M)
    words = []
    for line in (m.group(1) if m else "").splitlines():
        words += line.split("#", 1)[0].split()
    return set(words)


def dockerfile_instructions(text):
    """[(stage_index, INSTRUCTION, args)] with continuations joined and comments dropped."""
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        lines.append(current)
        current = ""
    out, stage = [], -1
    for line in lines:
        word, _, args = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stage += 1
        out.append((stage, word, args.strip()))
    return out


def apt_packages(run_args):
    m = re.search(r"apt-get install\s+(.*?)(&&|$)", run_args)
    if not m:
        return set()
    return {w for w in m.group(1).split() if not w.startswith("-")}


def needed_packages(binary):
    """Debian packages of the libraries `binary` names as NEEDED (not their dependencies)."""
    needed = []
    dyn = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True)
    for line in dyn.stdout.splitlines():
        m = re.search(r"\(NEEDED\).*\[(.+)\]", line)
        if m:
            needed.append(m.group(1))
    resolved = {}
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True)
    for line in ldd.stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            resolved[m.group(1)] = m.group(2)
    # dpkg knows each file under the path its package ships it at: /lib/... or /usr/lib/...
    # (merged /usr), so ask for every spelling at once (one slow dpkg -S, not one per file).
    candidates = {}
    for soname in needed:
        path = resolved.get(soname)
        if path and path != "not":
            real = os.path.realpath(path)
            candidates[soname] = {path, real} | {
                p[4:] if p.startswith("/usr/") else "/usr" + p for p in (path, real)}
    owners = {}
    every = sorted(set().union(*candidates.values())) if candidates else []
    if every:
        r = subprocess.run(["dpkg", "-S"] + every, capture_output=True, text=True)
        for line in r.stdout.splitlines():
            pkgs, _, file = line.partition(": ")
            owners[file.strip()] = pkgs.split(",")[0].split(":")[0].strip()
    packages, unknown = set(), []
    for soname in needed:
        found = [owners[p] for p in sorted(candidates.get(soname, ())) if p in owners]
        if found:
            packages.add(found[0])
        else:
            unknown.append(soname)
    return packages, unknown


def check_dockerfile(repo, binaries):
    path = os.path.join(repo, "deploy/Dockerfile")
    text = open(path, encoding="utf-8").read()
    ins = dockerfile_instructions(text)
    args = {}
    for stage, word, rest in ins:
        if stage == -1 and word == "ARG" and "=" in rest:
            k, v = rest.split("=", 1)
            args[k] = v
    froms = [(stage, rest) for stage, word, rest in ins if word == "FROM"]

    def resolve(image):
        return re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), image)

    check("Dockerfile: multi-stage (a build stage and a runtime stage)", len(froms) >= 2,
          f"{len(froms)} FROM")
    if len(froms) < 2:
        return {}
    build_image = resolve(froms[0][1].split()[0])
    runtime_image = resolve(froms[-1][1].split()[0])
    check("Dockerfile: the build stage is Debian 12",
          build_image in ("debian:12", "debian:bookworm"), build_image)
    check("Dockerfile: the runtime stage is Debian 12",
          re.fullmatch(r"debian:(12|bookworm)(-slim)?", runtime_image) is not None, runtime_image)
    last = len(froms) - 1
    build_stage_name = froms[0][1].split()[-1] if " AS " in froms[0][1].upper() else "0"

    # Build stage: packages in step with install-deps.sh, only jobd and jobctl built.
    build_runs = " ".join(rest for stage, word, rest in ins if stage == 0 and word == "RUN")
    build_pkgs = apt_packages(build_runs)
    deps = install_deps_packages(repo)
    check("deploy/install-deps.sh: its package list was found", len(deps) > 10, f"{len(deps)}")
    missing = sorted(deps - NOT_FOR_THE_IMAGE_BUILD - build_pkgs)
    check("Dockerfile: the build stage installs every build package of deploy/install-deps.sh",
          not missing, "missing: " + " ".join(missing))
    foreign = sorted(build_pkgs - deps)
    check("Dockerfile: the build stage installs nothing deploy/install-deps.sh does not",
          not foreign, "not in install-deps.sh: " + " ".join(foreign))
    check("Dockerfile: Release build of only the jobd and jobctl targets",
          re.search(r"--target jobd jobctl\b", build_runs) is not None
          and "-DCMAKE_BUILD_TYPE=Release" in build_runs)

    # Runtime stage.
    runtime = [(word, rest) for stage, word, rest in ins if stage == last]
    runtime_runs = " ".join(rest for word, rest in runtime if word == "RUN")
    runtime_pkgs = apt_packages(runtime_runs)
    check("Dockerfile: the runtime stage installs no -dev package or compiler",
          not [p for p in runtime_pkgs if p.endswith("-dev") or p in ("g++", "cmake", "gcc")])
    users = [rest for word, rest in runtime if word == "USER"]
    user = users[-1] if users else ""
    uid = user.split(":")[0]
    check("Dockerfile: runs as a fixed non-root uid (USER <number>)",
          uid.isdigit() and int(uid) != 0, user or "no USER")
    check("Dockerfile: the uid is created with that number",
          bool(uid)
          and re.search(rf"useradd\b[^&]*--uid {re.escape(uid)}\b", runtime_runs) is not None)
    healthchecks = [rest for word, rest in runtime if word == "HEALTHCHECK"]
    check("Dockerfile: HEALTHCHECK in the runtime stage",
          bool(healthchecks) and "NONE" not in healthchecks[-1].upper())
    exposed = set()
    for word, rest in runtime:
        if word == "EXPOSE":
            exposed.update(int(p.split("/")[0]) for p in rest.split())
    entry = [rest for word, rest in runtime if word == "ENTRYPOINT"]
    check("Dockerfile: ENTRYPOINT in exec (JSON) form",
          bool(entry) and entry[-1].startswith("["), entry[-1] if entry else "none")
    copies_from_build = " ".join(rest for word, rest in runtime
                                 if word == "COPY" and rest.startswith("--from="))
    check("Dockerfile: the runtime stage copies jobd and jobctl from the build stage",
          f"--from={build_stage_name}" in copies_from_build
          and "/server/jobd" in copies_from_build and "/client/jobctl" in copies_from_build)
    for word, rest in runtime:
        if word == "COPY" and not rest.startswith("--"):
            for src in shlex.split(rest)[:-1]:
                check(f"Dockerfile: COPY source {src} exists",
                      os.path.exists(os.path.join(repo, src)))
    check("Dockerfile: no :latest image", ":latest" not in text)

    ignore = os.path.join(repo, "deploy/Dockerfile.dockerignore")
    entries = set(open(ignore).read().split()) if os.path.exists(ignore) else set()
    check("Dockerfile.dockerignore: leaves build trees, .git and node_modules out of the context",
          {"build", ".git", "tests/node/node_modules"} <= entries)

    # Runtime packages against what the binaries link.
    if binaries and shutil.which("dpkg") and shutil.which("readelf"):
        linked, unknown = set(), []
        for binary in binaries:
            pkgs, unk = needed_packages(binary)
            linked |= pkgs
            unknown += unk
        check("built binaries: every NEEDED library maps to a Debian package", not unknown,
              " ".join(unknown))
        missing = sorted(linked - BASE_IMAGE_PACKAGES - runtime_pkgs)
        check("Dockerfile: the runtime stage installs the package of every library jobd and "
              f"jobctl link ({' '.join(sorted(linked - BASE_IMAGE_PACKAGES))})",
              not missing, "missing: " + " ".join(missing))
        extra = sorted(runtime_pkgs - linked - RUNTIME_EXTRAS - BASE_IMAGE_PACKAGES)
        check("Dockerfile: the runtime stage installs no library jobd and jobctl do not link",
              not extra, "not linked: " + " ".join(extra))
    else:
        info("no --jobd/--jobctl (or no dpkg/readelf): runtime packages not compared with the "
             "binaries' libraries")
    return {"exposed": exposed}


def check_entrypoint_defaults(repo):
    """The listen defaults the image's entry point gives `serve`."""
    text = open(os.path.join(repo, "deploy/docker/entrypoint.sh"), encoding="utf-8").read()
    env = {}
    for name in ("JOBD_LISTEN", "JOBD_HTTP_LISTEN"):
        m = re.search(rf"{name}=\$\{{{name}-([^}}]+)\}}", text)
        check(f"docker/entrypoint.sh: serve defaults {name}", m is not None)
        if m:
            env[name] = m.group(1)
    return env


# ---- compose -----------------------------------------------------------------------------------

INTERPOLATION = re.compile(r"\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|)")


def interpolate(value, env):
    """Compose's interpolation of one string; unknown bare $NAME is an error here."""
    errors = []

    def repl(m):
        if m.group(1) == "$":
            return "$"
        if m.group(1) == "":
            # Compose refuses any other $ ("Invalid template"): a shell's $( or $x is $$.
            errors.append(f"invalid template at {value[m.start():m.start() + 8]!r} (write $$)")
            return "$"
        if m.group(3):
            errors.append(f"${m.group(3)} (write $$ for the shell, ${{{m.group(3)}}} for compose)")
            return ""
        expr = m.group(2)
        mm = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?", expr, re.S)
        if not mm:
            errors.append("${" + expr + "}")
            return ""
        name, op, arg = mm.groups()
        if name in env:
            return env[name]
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            return "<" + name + ">"
        errors.append(f"${{{name}}} has no default and no error message")
        return ""

    return INTERPOLATION.sub(repl, value), errors


def interpolate_tree(value, env, errors, path=""):
    if isinstance(value, str):
        out, errs = interpolate(value, env)
        errors += [f"{path}: {e}" for e in errs]
        return out
    if isinstance(value, dict):
        return {k: interpolate_tree(v, env, errors, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate_tree(v, env, errors, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def env_dict(environment):
    if environment is None:
        return {}
    if isinstance(environment, list):
        out = {}
        for item in environment:
            k, _, v = str(item).partition("=")
            out[k] = v
        return out
    return {k: "" if v is None else str(v) for k, v in environment.items()}


def as_list(command):
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def parse_port(spec):
    """'127.0.0.1:8080:8080' -> ('127.0.0.1', 8080, 8080)."""
    parts = str(spec).split(":")
    if len(parts) == 3:
        return parts[0], int(parts[1]), int(parts[2].split("/")[0])
    if len(parts) == 2:
        return "", int(parts[0]), int(parts[1].split("/")[0])
    return "", None, int(parts[0].split("/")[0])


def check_compose(repo, jobd_env, jobctl_env, image_defaults):
    path = os.path.join(repo, "deploy/compose.yaml")
    try:
        docs = load_yaml_docs(path)
    except yaml.YAMLError as e:
        check("compose.yaml: parses", False, str(e).replace("\n", " "))
        return []
    check("compose.yaml: parses (no duplicate keys)", len(docs) == 1)
    raw = docs[0]
    errors = []
    compose = interpolate_tree(raw, {}, errors)
    check("compose.yaml: interpolation (${VAR} has a default or an error; shell $ written $$)",
          not errors, "; ".join(errors))
    services = compose.get("services") or {}
    check("compose.yaml: has services", bool(services))
    volumes = set((compose.get("volumes") or {}).keys())
    env_sets = []

    def image_has_healthcheck(svc):
        return "build" in svc and svc["build"].get("dockerfile", "").endswith("deploy/Dockerfile")

    for name, svc in services.items():
        check(f"compose {name}: image or build", "image" in svc or "build" in svc)
        if "build" in svc:
            ctx = os.path.normpath(os.path.join(repo, "deploy", svc["build"].get("context", ".")))
            df = os.path.join(ctx, svc["build"].get("dockerfile", "Dockerfile"))
            check(f"compose {name}: build context and Dockerfile exist", os.path.isfile(df), df)
        for dep, cond in (svc.get("depends_on") or {}).items():
            condition = cond.get("condition") if isinstance(cond, dict) else "service_started"
            target = services.get(dep)
            check(f"compose {name}: depends on a known service {dep}", target is not None)
            if target is None:
                continue
            check(f"compose {name} -> {dep}: a known condition ({condition})",
                  condition in ("service_started", "service_healthy",
                                "service_completed_successfully"))
            if condition == "service_healthy":
                hc = target.get("healthcheck")
                has = (hc and not hc.get("disable") and hc.get("test")) or (
                    hc is None and image_has_healthcheck(target))
                check(f"compose {name} -> {dep}: service_healthy needs a health check on {dep}",
                      bool(has))
            if condition == "service_completed_successfully":
                check(f"compose {name} -> {dep}: {dep} is a one-shot (restart \"no\")",
                      str(target.get("restart", "no")) == "no")
        for vol in svc.get("volumes") or []:
            src = str(vol).split(":")[0]
            if not src.startswith((".", "/")):
                check(f"compose {name}: volume {src} is declared", src in volumes)
        env = env_dict(svc.get("environment"))
        cmd = as_list(svc.get("entrypoint")) + as_list(svc.get("command"))
        uses_jobd = "build" in svc or str(svc.get("image", "")).startswith("${JOBD_IMAGE")
        if uses_jobd:
            allowed = jobd_env | jobctl_env | IMAGE_SCRIPT_ENV
            check_env_names(f"compose {name}", env, allowed)
        svc["_env"], svc["_cmd"] = env, cmd

    # PostgreSQL 15.
    pg = [n for n, s in services.items() if str(s.get("image", "")).startswith("postgres:")]
    check("compose: one PostgreSQL service on postgres:15", len(pg) == 1 and all(
        re.match(r"postgres:15(\.|-|$)", services[n]["image"]) for n in pg),
        ", ".join(services[n]["image"] for n in pg))
    if pg:
        p = services[pg[0]]
        check("compose: PostgreSQL has a health check (pg_isready)",
              "pg_isready" in json.dumps(p.get("healthcheck", {})))
        check("compose: PostgreSQL keeps its data in a named volume",
              any(str(v).endswith(":/var/lib/postgresql/data") and str(v).split(":")[0] in volumes
                  for v in p.get("volumes") or []))

    def runs(svc, *words):
        cmd = [c for c in svc["_cmd"]]
        return cmd[: len(words)] == list(words)

    migrate = [n for n, s in services.items() if runs(s, "migrate")]
    check("compose: a one-shot service runs `jobd migrate`", len(migrate) == 1)
    servers = [n for n, s in services.items() if runs(s, "serve")]
    check("compose: two or more jobd replicas (`serve`)", len(servers) >= 2, ", ".join(servers))
    host_ports = []
    for n in servers:
        s = services[n]
        deps = s.get("depends_on") or {}
        check(f"compose {n}: starts after the migration completed",
              any(deps.get(m, {}).get("condition") == "service_completed_successfully"
                  for m in migrate))
        check(f"compose {n}: restarts (restart: always/unless-stopped/on-failure)",
              str(s.get("restart", "no")) in ("always", "unless-stopped", "on-failure"))
        hc = s.get("healthcheck") or {}
        check(f"compose {n}: health check", bool(hc.get("test")) and not hc.get("disable"))
        env = dict(image_defaults)
        env.update(s["_env"])
        listen, http = env.get("JOBD_LISTEN", ""), env.get("JOBD_HTTP_LISTEN", "")
        targets = {parse_port(p)[2] for p in s.get("ports") or []}
        check(f"compose {n}: publishes the gRPC and HTTP ports jobd listens on",
              {port_of(listen), port_of(http)} <= targets, f"{targets}")
        for p in s.get("ports") or []:
            host, hp, _ = parse_port(p)
            host_ports.append(hp)
            plain = env.get("JOBD_ALLOW_INSECURE_LISTEN") == "true" and not env.get(
                "JOBD_TLS_CERT_FILE")
            if plain:
                check(f"compose {n}: plaintext port {p} published on the host's loopback only",
                      host.startswith("127.") or host == "[::1]")
        check(f"compose {n}: stop_grace_period leaves jobd its --shutdown_grace (10s)",
              duration_seconds(s.get("stop_grace_period", "10s")) > 10)
        env_sets.append((f"compose {n}", dict(env), "serve"))
    check("compose: replicas publish distinct host ports", len(host_ports) == len(set(host_ports)))
    for n in migrate:
        env_sets.append((f"compose {n}", dict(services[n]["_env"]), "migrate"))

    # Keys and worker.
    workers = [n for n, s in services.items() if runs(s, "jobctl", "work")]
    check("compose: an example worker runs `jobctl work`", len(workers) >= 1)
    key_makers = {n: s for n, s in services.items()
                  if re.search(r"keys create|jobd-ensure-key", " ".join(s["_cmd"]))}
    check("compose: a one-shot service makes the first API keys", len(key_makers) >= 1)
    for w in workers:
        s = services[w]
        key_file = s["_env"].get("JOBD_API_KEY_FILE", "")
        makers = [n for n, k in key_makers.items() if key_file and key_file in " ".join(k["_cmd"])]
        check(f"compose {w}: its key file {key_file} is made by a keys service", bool(makers))
        deps = s.get("depends_on") or {}
        for m in makers:
            check(f"compose {w}: starts after {m} completed",
                  deps.get(m, {}).get("condition") == "service_completed_successfully")
            shared = [str(v).split(":")[0] for v in s.get("volumes") or []
                      if str(v).split(":")[1] == os.path.dirname(key_file)]
            made = [str(v).split(":")[0] for v in services[m].get("volumes") or []
                    if str(v).split(":")[1] == os.path.dirname(key_file)]
            check(f"compose {w}: mounts the volume {m} writes the key into",
                  bool(shared) and shared == made)
        check(f"compose {w}: JOBD_ADDRESS names a jobd replica's gRPC port",
              s["_env"].get("JOBD_ADDRESS", "").rsplit(":", 1)[-1] == "50051")
        # The worker's shell command as the container will run it.
        cmd = s["_cmd"]
        if "--" in cmd:
            program = cmd[cmd.index("--") + 1:]
            if program[:2] == ["/bin/sh", "-c"] or program[:2] == ["sh", "-c"]:
                r = subprocess.run(["sh", "-n", "-c", program[2]], capture_output=True, text=True)
                check(f"compose {w}: the worker's shell command parses (sh -n)", r.returncode == 0,
                      r.stderr.strip())
    for n, k in key_makers.items():
        env_sets.append((f"compose {n}", dict(k["_env"]), "keys"))
    return env_sets


def duration_seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m)?", str(text))
    if not m:
        return 0
    n = int(m.group(1))
    return {"ms": n / 1000, "s": n, "m": 60 * n, None: n}[m.group(2)]


# ---- kustomize ---------------------------------------------------------------------------------

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass"}


def json_pointer(doc, path):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]
    parent = doc
    for p in parts[:-1]:
        parent = parent[int(p)] if isinstance(parent, list) else parent[p]
    return parent, parts[-1]


def apply_json6902(doc, ops):
    for op in ops:
        parent, last = json_pointer(doc, op["path"])
        if op["op"] == "add":
            if isinstance(parent, list):
                if last == "-":
                    parent.append(copy.deepcopy(op["value"]))
                else:
                    parent.insert(int(last), copy.deepcopy(op["value"]))
            else:
                parent[last] = copy.deepcopy(op["value"])
        elif op["op"] == "replace":
            if isinstance(parent, list):
                parent[int(last)] = copy.deepcopy(op["value"])
            else:
                if last not in parent:
                    raise KeyError(op["path"])
                parent[last] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                del parent[last]
        else:
            raise ValueError("unsupported op " + op["op"])


SUPPORTED_KUSTOMIZE = {"apiVersion", "kind", "namespace", "resources", "labels",
                       "configMapGenerator", "images", "patches"}


def emulate_kustomize(folder):
    """The subset of kustomize the files here use (no name hashes)."""
    k = load_yaml_docs(os.path.join(folder, "kustomization.yaml"))[0]
    unsupported = set(k) - SUPPORTED_KUSTOMIZE
    if unsupported:
        raise ValueError("emulation does not support " + ", ".join(sorted(unsupported)))
    objs = []
    for res in k.get("resources", []):
        p = os.path.normpath(os.path.join(folder, res))
        objs += emulate_kustomize(p) if os.path.isdir(p) else load_yaml_docs(p)
    for gen in k.get("configMapGenerator", []):
        data = dict(item.split("=", 1) for item in gen.get("literals", []))
        objs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": gen["name"]}, "data": data})
    for lab in k.get("labels", []):
        for o in objs:
            o.setdefault("metadata", {}).setdefault("labels", {}).update(lab["pairs"])
    for patch in k.get("patches", []):
        ops = load_yaml_docs(os.path.join(folder, patch["path"]))[0]
        t = patch["target"]
        for o in objs:
            if o.get("kind") == t.get("kind") and o["metadata"].get("name") == t.get("name"):
                apply_json6902(o, ops)
    for img in k.get("images", []):
        for o in objs:
            for c in pod_containers(o):
                if c.get("image", "").split(":")[0] == img["name"]:
                    c["image"] = f"{img.get('newName', img['name'])}:{img.get('newTag', 'latest')}"
    if "namespace" in k:
        for o in objs:
            if o.get("kind") not in CLUSTER_SCOPED:
                o.setdefault("metadata", {})["namespace"] = k["namespace"]
    return objs


def kustomize_build(folder, kubectl):
    if kubectl:
        r = subprocess.run([kubectl, "kustomize", folder], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.strip())
        return load_yaml_docs_text(r.stdout)
    return emulate_kustomize(folder)


def kustomization_files_exist(folder, seen=None):
    missing = []
    k = load_yaml_docs(os.path.join(folder, "kustomization.yaml"))[0]
    for res in k.get("resources", []):
        p = os.path.normpath(os.path.join(folder, res))
        if os.path.isdir(p):
            if not os.path.isfile(os.path.join(p, "kustomization.yaml")):
                missing.append(p + "/kustomization.yaml")
            else:
                missing += kustomization_files_exist(p)
        elif not os.path.isfile(p):
            missing.append(p)
    for patch in k.get("patches", []):
        if "path" in patch and not os.path.isfile(os.path.join(folder, patch["path"])):
            missing.append(os.path.join(folder, patch["path"]))
    return missing


# ---- Kubernetes objects -------------------------------------------------------------------------

EXPECTED_API = {"Deployment": "apps/v1", "Service": "v1", "PodDisruptionBudget": "policy/v1",
                "Job": "batch/v1", "ConfigMap": "v1", "Secret": "v1", "ServiceAccount": "v1",
                "Namespace": "v1", "Cluster": "postgresql.cnpg.io/v1"}
DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def pod_spec(o):
    if o.get("kind") in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        return o.get("spec", {}).get("template", {}).get("spec", {})
    return None


def pod_containers(o):
    spec = pod_spec(o)
    if not spec:
        return []
    return spec.get("containers", []) + spec.get("initContainers", [])


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def container_env(c, objs, database_url):
    """The environment the container gets: envFrom ConfigMaps, then env (secrets -> a stand-in)."""
    env = {}
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objs}
    for src in c.get("envFrom", []):
        ref = src.get("configMapRef", {}).get("name")
        if ref and ("ConfigMap", ref) in by_name:
            env.update({k: str(v) for k, v in by_name[("ConfigMap", ref)].get("data", {}).items()})
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        elif "secretKeyRef" in e.get("valueFrom", {}):
            env[e["name"]] = database_url if e["name"] == "JOBD_DATABASE_URL" else "secret"
    return env


def check_probe_port(where, c, probe_name):
    probe = c.get(probe_name)
    if not probe:
        return
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    numbers = set(ports.values())
    for kind in ("httpGet", "grpc", "tcpSocket"):
        if kind in probe:
            port = probe[kind].get("port")
            ok = port in numbers or (isinstance(port, str) and port in ports)
            check(f"{where}: {probe_name} port {port} is a declared container port", ok)
            if kind == "grpc":
                check(f"{where}: {probe_name} grpc port is a number (Kubernetes requires it)",
                      isinstance(port, int))


def check_container_security(where, spec, c):
    psc = spec.get("securityContext", {})
    csc = c.get("securityContext", {})
    run_as_non_root = csc.get("runAsNonRoot", psc.get("runAsNonRoot"))
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    check(f"{where}: runAsNonRoot with a non-zero runAsUser",
          run_as_non_root is True and isinstance(uid, int) and uid > 0)
    check(f"{where}: readOnlyRootFilesystem", csc.get("readOnlyRootFilesystem") is True)
    check(f"{where}: allowPrivilegeEscalation false", csc.get("allowPrivilegeEscalation") is False)
    check(f"{where}: capabilities drop ALL",
          "ALL" in (csc.get("capabilities", {}).get("drop") or []))
    seccomp = csc.get("seccompProfile", psc.get("seccompProfile", {}))
    check(f"{where}: seccompProfile RuntimeDefault", seccomp.get("type") == "RuntimeDefault")
    res = c.get("resources", {})
    check(f"{where}: cpu and memory requests and limits",
          all(res.get(kind, {}).get(r) for kind in ("requests", "limits")
              for r in ("cpu", "memory")), json.dumps(res))
    check(f"{where}: service account token not mounted",
          spec.get("automountServiceAccountToken") is False)
    check(f"{where}: image set and not :latest",
          bool(c.get("image")) and not c["image"].endswith(":latest"), c.get("image", ""))


def check_k8s_objects(label, objs, jobd_env, complete):
    """complete: an overlay meant to be applied (every reference must resolve)."""
    env_sets = []
    for o in objs:
        kind, meta = o.get("kind"), o.get("metadata", {})
        name = meta.get("name", "")
        check(f"{label} {kind}/{name}: apiVersion, kind and metadata.name",
              bool(o.get("apiVersion")) and bool(kind) and bool(name))
        if kind in EXPECTED_API:
            check(f"{label} {kind}/{name}: apiVersion {EXPECTED_API[kind]}",
                  o.get("apiVersion") == EXPECTED_API[kind], o.get("apiVersion"))
        check(f"{label} {kind}/{name}: name is a DNS-1123 name",
              DNS1123.fullmatch(name) is not None and len(name) <= 253)
        if complete and kind not in CLUSTER_SCOPED:
            check(f"{label} {kind}/{name}: has a namespace", bool(meta.get("namespace")))
    by_kind = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    # CloudNativePG makes <cluster>-app (uri, password, ...) and <cluster>-ca for each Cluster.
    for cl in by_kind.get("Cluster", []):
        n = cl["metadata"]["name"]
        names |= {("Secret", f"{n}-app"), ("Secret", f"{n}-ca"), ("Secret", f"{n}-superuser")}
        check(f"{label} Cluster/{n}: PostgreSQL 15 image",
              re.search(r"postgresql:15(\.|$|-)",
                        cl.get("spec", {}).get("imageName", "")) is not None)
        check(f"{label} Cluster/{n}: two or more instances (a standby for failover)",
              cl.get("spec", {}).get("instances", 1) >= 2)

    deployments = by_kind.get("Deployment", [])
    check(f"{label}: one jobd Deployment", len(deployments) == 1)
    pod_labels = {}
    for d in deployments:
        dn = d["metadata"]["name"]
        spec = d.get("spec", {})
        tmpl = spec.get("template", {})
        pod_labels = tmpl.get("metadata", {}).get("labels", {})
        check(f"{label} Deployment/{dn}: replicas >= 2", spec.get("replicas", 1) >= 2,
              str(spec.get("replicas")))
        check(f"{label} Deployment/{dn}: selector matches the pod labels",
              selects(spec.get("selector", {}).get("matchLabels"), pod_labels))
        ru = spec.get("strategy", {}).get("rollingUpdate", {})
        check(f"{label} Deployment/{dn}: rolling update never below the replica count",
              spec.get("strategy", {}).get("type") == "RollingUpdate"
              and ru.get("maxUnavailable") == 0)
        ps = tmpl.get("spec", {})
        for tsc in ps.get("topologySpreadConstraints", []):
            check(f"{label} Deployment/{dn}: topology spread selects its own pods",
                  selects(tsc.get("labelSelector", {}).get("matchLabels"), pod_labels))
        jobd_containers = [c for c in ps.get("containers", []) if c.get("args", [""])[0] == "serve"]
        check(f"{label} Deployment/{dn}: a container runs `serve`", len(jobd_containers) == 1)
        for c in jobd_containers:
            where = f"{label} Deployment/{dn} container {c['name']}"
            for probe in ("readinessProbe", "livenessProbe"):
                check(f"{where}: {probe}", probe in c)
                check_probe_port(where, c, probe)
            check_probe_port(where, c, "startupProbe")
            live = c.get("livenessProbe", {})
            check(f"{where}: liveness is /healthz (an unreachable database must not restart pods)",
                  live.get("httpGet", {}).get("path") == "/healthz", json.dumps(live))
            ready = c.get("readinessProbe", {})
            env = container_env(c, objs, "postgresql://jobd@db.invalid/jobd")
            grpc_port = port_of(env.get("JOBD_LISTEN", "127.0.0.1:50051"))
            http_port = port_of(env.get("JOBD_HTTP_LISTEN", "127.0.0.1:8080"))
            check(f"{where}: readiness is grpc.health.v1 on the gRPC port or /readyz",
                  ready.get("grpc", {}).get("port") == grpc_port
                  or ready.get("httpGet", {}).get("path") == "/readyz", json.dumps(ready))
            cports = {p["containerPort"] for p in c.get("ports", [])}
            check(f"{where}: container ports are jobd's listen ports ({grpc_port}, {http_port})",
                  {grpc_port, http_port} <= cports, str(cports))
            check(f"{where}: listens beyond loopback (else the Service reaches nothing)",
                  not is_loopback(env.get("JOBD_LISTEN", "127.0.0.1:50051")))
            check_container_security(where, ps, c)
            check_env_names(where, env, jobd_env | LIBPQ_ENV)
            db_src = [e for e in c.get("env", []) if e["name"] == "JOBD_DATABASE_URL"]
            check(f"{where}: JOBD_DATABASE_URL from a Secret",
                  len(db_src) == 1 and "secretKeyRef" in db_src[0].get("valueFrom", {}))
            pre = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
            pre_sleep = int(pre[1]) if pre[:1] == ["sleep"] and len(pre) > 1 else 0
            grace = duration_seconds(env.get("JOBD_SHUTDOWN_GRACE", "10s"))
            check(f"{where}: terminationGracePeriodSeconds > preStop sleep + shutdown_grace",
                  ps.get("terminationGracePeriodSeconds", 30) > pre_sleep + grace)
            env_sets.append((f"{where}", env, "serve"))
    for s in by_kind.get("Service", []):
        sn = s["metadata"]["name"]
        check(f"{label} Service/{sn}: selects the Deployment's pods",
              selects(s.get("spec", {}).get("selector"), pod_labels))
        cports = set()
        for d in deployments:
            for c in d["spec"]["template"]["spec"]["containers"]:
                cports |= {p.get("name") for p in c.get("ports", [])}
                cports |= {p.get("containerPort") for p in c.get("ports", [])}
        for p in s.get("spec", {}).get("ports", []):
            check(f"{label} Service/{sn}: port {p.get('name')} targets a container port",
                  p.get("targetPort", p.get("port")) in cports)
    pdbs = by_kind.get("PodDisruptionBudget", [])
    check(f"{label}: a PodDisruptionBudget", len(pdbs) == 1)
    for p in pdbs:
        spec = p.get("spec", {})
        check(f"{label} PodDisruptionBudget/{p['metadata']['name']}: minAvailable 1",
              spec.get("minAvailable") == 1)
        check(f"{label} PodDisruptionBudget/{p['metadata']['name']}: selects the Deployment's pods",
              selects(spec.get("selector", {}).get("matchLabels"), pod_labels))
    jobs = by_kind.get("Job", [])
    check(f"{label}: a migration Job", len(jobs) == 1)
    for j in jobs:
        ps = j["spec"]["template"]["spec"]
        where = f"{label} Job/{j['metadata']['name']}"
        check(f"{where}: restartPolicy Never or OnFailure",
              ps.get("restartPolicy") in ("Never", "OnFailure"))
        for c in ps.get("containers", []):
            check(f"{where}: runs `migrate`", c.get("args") == ["migrate"], str(c.get("args")))
            check_container_security(f"{where} container {c['name']}", ps, c)
            env = container_env(c, objs, "postgresql://jobd@db.invalid/jobd")
            check_env_names(where, env, jobd_env | LIBPQ_ENV)
            env_sets.append((where, env, "migrate"))
    # References.
    if complete:
        for o in objs:
            for c in pod_containers(o):
                for e in c.get("env", []):
                    ref = e.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        check(f"{label} {o['kind']}/{o['metadata']['name']}: Secret {ref['name']} "
                              "exists", ("Secret", ref["name"]) in names)
                for src in c.get("envFrom", []):
                    ref = src.get("configMapRef", {}).get("name")
                    if ref:
                        check(f"{label} {o['kind']}/{o['metadata']['name']}: ConfigMap {ref} "
                              "exists", ("ConfigMap", ref) in names)
            spec = pod_spec(o) or {}
            for v in spec.get("volumes", []):
                if "secret" in v:
                    sn = v["secret"]["secretName"]
                    check(f"{label} {o['kind']}/{o['metadata']['name']}: volume Secret {sn} exists",
                          ("Secret", sn) in names)
            sa = spec.get("serviceAccountName")
            if sa:
                check(f"{label} {o['kind']}/{o['metadata']['name']}: ServiceAccount {sa} exists",
                      ("ServiceAccount", sa) in names)
            if o["kind"] == "Secret":
                check(f"{label} Secret/{o['metadata']['name']}: has a url",
                      "url" in (o.get("stringData") or {}) or "url" in (o.get("data") or {}))
    return env_sets


def check_k8s(repo, kubectl, jobd_env):
    root = os.path.join(repo, "deploy/k8s")
    env_sets = []
    folders = [os.path.join(root, "base")] + sorted(
        os.path.join(root, "overlays", d) for d in os.listdir(os.path.join(root, "overlays")))
    how = f"`{kubectl} kustomize`" if kubectl else "emulation (no kubectl)"
    info(f"kustomize builds by {how}")
    for folder in folders:
        label = "k8s " + os.path.relpath(folder, root)
        for f in sorted(os.listdir(folder)):
            if f.endswith(".yaml"):
                try:
                    load_yaml_docs(os.path.join(folder, f))
                    check(f"{label}/{f}: parses (no duplicate keys)", True)
                except yaml.YAMLError as e:
                    check(f"{label}/{f}: parses", False, str(e).replace("\n", " "))
        missing = kustomization_files_exist(folder)
        check(f"{label}: every resource and patch of kustomization.yaml exists", not missing,
              " ".join(missing))
        try:
            objs = kustomize_build(folder, kubectl)
        except Exception as e:  # noqa: BLE001 - any failure of the build is the finding
            check(f"{label}: kustomize build", False, str(e))
            continue
        check(f"{label}: kustomize build ({len(objs)} objects)", len(objs) > 0)
        complete = os.path.basename(os.path.dirname(folder)) == "overlays"
        env_sets += check_k8s_objects(label, objs, jobd_env, complete)
    return env_sets


# ---- systemd -----------------------------------------------------------------------------------

SYSTEMD_REQUIRED = {
    "ProtectSystem": "strict", "ProtectHome": "yes", "NoNewPrivileges": "yes",
    "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "CapabilityBoundingSet": "",
    "EnvironmentFile": "/etc/jobd/jobd.env", "Restart": "on-failure",
}


def parse_unit(text):
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        k, _, v = line.partition("=")
        values.setdefault(k.strip(), []).append(v.strip())
    return values


def parse_env_file(path):
    env = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition("=")
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        env[k] = v
    return env


def check_systemd(repo, jobd_env):
    unit = parse_unit(open(os.path.join(repo, "deploy/systemd/jobd.service")).read())
    for key, want in SYSTEMD_REQUIRED.items():
        got = unit.get(key, [])
        check(f"systemd jobd.service: {key}={want}", want in got, f"got {got}")
    check("systemd jobd.service: SystemCallFilter=@system-service",
          "@system-service" in unit.get("SystemCallFilter", []))
    check("systemd jobd.service: DynamicUser=yes or a User=",
          unit.get("DynamicUser") == ["yes"] or bool(unit.get("User")))
    check("systemd jobd.service: migrates before serving (ExecStartPre ... migrate)",
          any(v.split()[1:2] == ["migrate"] for v in unit.get("ExecStartPre", [])))
    check("systemd jobd.service: ExecStart runs `jobd serve`",
          [v.split()[1:2] for v in unit.get("ExecStart", [])] == [["serve"]])
    stop = duration_seconds(unit.get("TimeoutStopSec", ["90s"])[0])
    check("systemd jobd.service: TimeoutStopSec leaves jobd its --shutdown_grace (10s)", stop > 10)
    env = parse_env_file(os.path.join(repo, "deploy/systemd/jobd.env.example"))
    check_env_names("systemd jobd.env.example", env, jobd_env)
    return [("systemd jobd.env.example", env, "serve")]


# ---- the real jobd on every deployment's settings ------------------------------------------------

# A socket that cannot exist: the connection fails at once, and no network is touched.
FAKE_DATABASE = "postgresql:///jobd?host=/nonexistent/jobd-deploy-check"


def run_jobd_config(jobd, env):
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "JOBD_STARTUP_TIMEOUT": "0s"}
    full.update({k: v for k, v in env.items() if k.startswith("JOBD_")})
    full["JOBD_DATABASE_URL"] = FAKE_DATABASE
    full["JOBD_STARTUP_TIMEOUT"] = "0s"
    r = subprocess.run([jobd, "migrate"], env=full, capture_output=True, text=True, timeout=60)
    first = (r.stderr.strip().splitlines() or [""])[0]
    if r.returncode == 1 and "nonexistent/jobd-deploy-check" not in r.stderr:
        return -1, "exit 1 for another reason than the unreachable database: " + first
    return r.returncode, first


def check_with_jobd(jobd, env_sets, image_defaults):
    for where, env, _command in env_sets:
        rc, first = run_jobd_config(jobd, env)
        check(f"jobd accepts the settings of {where} (exit 1 on the unreachable database, "
              "not 2)", rc == 1, f"exit {rc}: {first}")
    # The negative control: the image's serve defaults alone are plaintext off loopback.
    rc, first = run_jobd_config(jobd, dict(image_defaults))
    check("jobd refuses the image's listen defaults without TLS or JOBD_ALLOW_INSECURE_LISTEN "
          "(so the check above can fail)", rc == 2 and "allow_insecure_listen" in first,
          f"exit {rc}: {first}")


# ---- main --------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", default=os.path.normpath(os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", "..")))
    ap.add_argument("--jobd")
    ap.add_argument("--jobctl")
    ap.add_argument("--kubectl", default="auto", help="path, 'auto' (PATH) or 'none' (emulate)")
    a = ap.parse_args()
    repo = os.path.abspath(a.repo)
    kubectl = None
    if a.kubectl == "auto":
        kubectl = shutil.which("kubectl")
    elif a.kubectl != "none":
        kubectl = a.kubectl

    jobd_env = jobd_env_names(repo)
    jobctl_env = jobctl_env_names(repo)
    check("server/config.cc: the JOBD_* variables jobd reads were found", len(jobd_env) > 20,
          str(len(jobd_env)))
    check("client/jobctl: the JOBD_* variables jobctl reads were found",
          {"JOBD_ADDRESS", "JOBD_API_KEY_FILE"} <= jobctl_env)

    binaries = [b for b in (a.jobd, a.jobctl) if b]
    check_dockerfile(repo, binaries)
    image_defaults = check_entrypoint_defaults(repo)
    env_sets = []
    env_sets += check_compose(repo, jobd_env, jobctl_env, image_defaults)
    env_sets += check_k8s(repo, kubectl, jobd_env)
    env_sets += check_systemd(repo, jobd_env)
    if a.jobd:
        check_with_jobd(a.jobd, env_sets, image_defaults)
    else:
        info("no --jobd: the deployments' settings were not given to jobd")
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
