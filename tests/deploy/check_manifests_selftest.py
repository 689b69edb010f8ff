#!/usr/bin/python3
"""check_manifests.py must fail on broken deployment files, naming what broke.

  check_manifests_selftest.py [--jobd JOBD] [--jobctl JOBCTL] [--kubectl PATH|auto|none]

Each case copies what the checker reads (deploy/, server/config.cc, client/jobctl/*.cc) into a
temporary tree, makes one edit, runs the checker on it and expects exit 1 with a FAIL line
containing the given words. An edit that no longer applies (the file changed) fails the case,
so the cases follow the files. Cases that need the binaries are skipped without --jobd/--jobctl.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

# (name, file, old text, new text, words of the expected FAIL line, needs the binaries)
CASES = [
    ("one replica", "deploy/k8s/base/deployment.yaml", "replicas: 2", "replicas: 1",
     "replicas >= 2", False),
    ("no readiness probe", "deploy/k8s/base/deployment.yaml",
     "          readinessProbe:\n            grpc:\n              port: 50051\n",
     "          readinessGate:\n            grpc:\n              port: 50051\n",
     "readinessProbe", False),
    ("grpc probe on an undeclared port", "deploy/k8s/base/deployment.yaml",
     "            grpc:\n              port: 50051", "            grpc:\n              port: 50052",
     "readinessProbe port 50052 is a declared container port", False),
    ("liveness on /readyz", "deploy/k8s/base/deployment.yaml",
     "          livenessProbe:\n            httpGet:\n              path: /healthz",
     "          livenessProbe:\n            httpGet:\n              path: /readyz",
     "liveness is /healthz", False),
    ("PDB selects other pods", "deploy/k8s/base/pdb.yaml",
     "      app.kubernetes.io/component: server", "      app.kubernetes.io/component: worker",
     "PodDisruptionBudget/jobd: selects the Deployment's pods", False),
    ("Service selects other pods", "deploy/k8s/base/service.yaml",
     "  selector:\n    app.kubernetes.io/name: jobd\n    app.kubernetes.io/component: server\n"
     "  ports:\n    - name: grpc\n      port: 50051\n      targetPort: grpc\n      protocol: TCP\n"
     "      appProtocol: kubernetes.io/h2c\n    - name: http",
     "  selector:\n    app.kubernetes.io/name: jobd-server\n"
     "  ports:\n    - name: grpc\n      port: 50051\n      targetPort: grpc\n      protocol: TCP\n"
     "      appProtocol: kubernetes.io/h2c\n    - name: http",
     "Service/jobd: selects the Deployment's pods", False),
    ("writable root", "deploy/k8s/base/deployment.yaml", "readOnlyRootFilesystem: true",
     "readOnlyRootFilesystem: false", "readOnlyRootFilesystem", False),
    ("capabilities kept", "deploy/k8s/base/deployment.yaml", 'drop: ["ALL"]',
     'drop: ["NET_RAW"]', "capabilities drop ALL", False),
    ("no limits", "deploy/k8s/base/deployment.yaml",
     '            limits:\n              cpu: "2"\n              memory: 1Gi\n', "",
     "cpu and memory requests and limits", False),
    ("misspelled jobd variable", "deploy/k8s/base/kustomization.yaml", "JOBD_POOL_SIZE=8",
     "JOBD_POOLSIZE=8", "every JOBD_* variable is one jobd/jobctl reads", False),
    ("missing resource file", "deploy/k8s/base/kustomization.yaml", "  - pdb.yaml",
     "  - pdbs.yaml", "every resource and patch of kustomization.yaml exists", False),
    ("database URL as a literal", "deploy/k8s/base/deployment.yaml",
     "            - name: JOBD_DATABASE_URL\n              valueFrom:\n"
     "                secretKeyRef:\n                  name: jobd-database\n"
     "                  key: url",
     "            - name: JOBD_DATABASE_URL\n              value: postgresql://u:p@db/jobd",
     "JOBD_DATABASE_URL from a Secret", False),
    ("Secret missing in the overlay", "deploy/k8s/overlays/example/kustomization.yaml",
     "  - database-secret.yaml\n", "", "Secret jobd-database exists", False),
    ("migrate Job serves", "deploy/k8s/base/migrate-job.yaml", 'args: ["migrate"]',
     'args: ["serve"]', "runs `migrate`", False),
    ("duplicate key", "deploy/k8s/base/pdb.yaml", "  minAvailable: 1",
     "  minAvailable: 1\n  minAvailable: 2", "duplicate key", False),
    ("shell $ not escaped in compose", "deploy/compose.yaml", "payload=$$(cat)",
     "payload=$(cat)", "interpolation", False),
    ("bare compose variable", "deploy/compose.yaml", "image: ${JOBD_IMAGE:-jobd:local}",
     "image: $JOBD_IMAGE", "interpolation", False),
    ("replicas do not wait for the migration", "deploy/compose.yaml",
     "    migrate:\n      condition: service_completed_successfully\n  healthcheck:",
     "    migrate:\n      condition: service_started\n  healthcheck:",
     "starts after the migration completed", False),
    ("service_healthy on a service without a health check", "deploy/compose.yaml",
     "  healthcheck:\n    test: [\"CMD\", \"/usr/local/bin/jobd-healthcheck\"]\n"
     "    interval: 10s\n    timeout: 3s\n    retries: 3\n    start_period: 40s\n",
     "  healthcheck:\n    disable: true\n",
     "service_healthy needs a health check on jobd-1", False),
    ("plaintext port on every host interface", "deploy/compose.yaml",
     "      - 127.0.0.1:8080:8080", "      - 8080:8080", "published on the host's loopback only",
     False),
    ("worker key made by nobody", "deploy/compose.yaml",
     "JOBD_API_KEY_FILE: /var/lib/jobd/keys/worker.key",
     "JOBD_API_KEY_FILE: /var/lib/jobd/keys/other.key", "is made by a keys service", False),
    ("PostgreSQL 14", "deploy/compose.yaml", "image: postgres:15", "image: postgres:14",
     "one PostgreSQL service on postgres:15", False),
    ("root user in the image", "deploy/Dockerfile", "USER 10001:10001", "USER root",
     "non-root uid", False),
    ("no HEALTHCHECK", "deploy/Dockerfile",
     "HEALTHCHECK --interval=10s --timeout=3s --start-period=40s --retries=3 \\\n"
     "  CMD [\"/usr/local/bin/jobd-healthcheck\"]\n", "", "HEALTHCHECK in the runtime stage",
     False),
    ("single stage", "deploy/Dockerfile", "FROM ${DEBIAN_RUNTIME} AS runtime\n", "",
     "multi-stage", False),
    ("build package dropped", "deploy/Dockerfile", " libpqxx-dev ", " ",
     "installs every build package of deploy/install-deps.sh", False),
    ("runtime library dropped", "deploy/Dockerfile", " libpqxx-6.4 libpq5 ", " libpq5 ",
     "installs the package of every library", True),
    ("runtime library not linked", "deploy/Dockerfile", " libpqxx-6.4 libpq5 ",
     " libpqxx-6.4 libpq5 libsqlite3-0 ", "installs no library jobd and jobctl do not link",
     True),
    ("systemd without ProtectSystem=strict", "deploy/systemd/jobd.service",
     "ProtectSystem=strict", "ProtectSystem=full", "ProtectSystem=strict", False),
    ("systemd with every address family", "deploy/systemd/jobd.service",
     "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n", "",
     "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", False),
    ("plaintext off loopback without the flag", "deploy/compose.yaml",
     'JOBD_ALLOW_INSECURE_LISTEN: "true"', 'JOBD_ALLOW_INSECURE_LISTEN: "false"',
     "jobd accepts the settings of compose jobd-1", True),
    ("a value jobd refuses", "deploy/k8s/base/kustomization.yaml", "JOBD_POOL_SIZE=8",
     "JOBD_POOL_SIZE=5000", "jobd accepts the settings of k8s base Deployment", True),
]


def copy_tree(dst):
    shutil.copytree(os.path.join(REPO, "deploy"), os.path.join(dst, "deploy"),
                    ignore=shutil.ignore_patterns(".env"))
    os.makedirs(os.path.join(dst, "server"))
    shutil.copy(os.path.join(REPO, "server/config.cc"), os.path.join(dst, "server/config.cc"))
    shutil.copytree(os.path.join(REPO, "client/jobctl"), os.path.join(dst, "client/jobctl"),
                    ignore=lambda d, names: [n for n in names if not n.endswith(".cc")])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobd")
    ap.add_argument("--jobctl")
    ap.add_argument("--kubectl", default="none",
                    help="the checker's --kubectl (default: its emulation, which is quicker)")
    a = ap.parse_args()
    checker = os.path.join(HERE, "check_manifests.py")
    passed = failed = skipped = 0
    for name, rel, old, new, words, needs_binaries in CASES:
        if needs_binaries and not (a.jobd and a.jobctl):
            skipped += 1
            print(f"skip: {name} (needs --jobd and --jobctl)")
            continue
        with tempfile.TemporaryDirectory(prefix="check_manifests_selftest.") as tmp:
            copy_tree(tmp)
            path = os.path.join(tmp, rel)
            text = open(path, encoding="utf-8").read()
            if text.count(old) < 1:
                failed += 1
                print(f"FAIL: {name}: the edit no longer applies to {rel} (update this case)")
                continue
            open(path, "w", encoding="utf-8").write(text.replace(old, new, 1))
            cmd = [sys.executable, checker, "--repo", tmp, "--kubectl", a.kubectl]
            if needs_binaries:
                cmd += ["--jobd", a.jobd, "--jobctl", a.jobctl]
            r = subprocess.run(cmd, capture_output=True, text=True)
            fails = [line for line in r.stdout.splitlines() if line.startswith("FAIL")]
            hit = [line for line in fails if words in line]
            if r.returncode == 1 and hit:
                passed += 1
                print(f"ok: {name}: {hit[0]}")
            else:
                failed += 1
                print(f"FAIL: {name}: exit {r.returncode}, no FAIL line with '{words}'; got: "
                      + (" | ".join(fails) or r.stderr.strip()[-500:]))
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
