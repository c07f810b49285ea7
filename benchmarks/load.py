"""Load the web service: start it, send audits from concurrent clients, check every answer.

    python benchmarks/load.py --requests 200 --clients 8 --workers 2 --output load.json

The service runs as this script's child (``inclusion-audit serve`` on a free
loopback port), so a benchmark runner that times this script measures the
service's start-up too, and its peak memory covers the largest of the
processes. ``--cpu`` also prints the CPU time (user + system, from ``/proc``)
each of the service's processes spent per audit during the load: steadier than
audits a second on a machine whose host takes time from it. Each client posts
the bundled example register (240 people) to ``/api/audit`` and every answer is
checked: status 200 and the expected number of participants. The standard
library only, so the driver adds nothing to measure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REGISTER = HERE.parent / "examples" / "riverside-forum-register.csv"
EXPECTED_PARTICIPANTS = 240


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def multipart(fields: dict[str, str], register: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        header = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{boundary}\r\n{header}\r\n\r\n{value}\r\n".encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="register"; '
        f'filename="{register.name}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
        + register.read_bytes()
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def service_cpu(root: int) -> dict[int, tuple[str, float]]:
    """The CPU seconds (user + system) of ``root`` and every process under it, by pid,
    with what each is ("web worker", "audit process", …); {} where /proc is missing."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        kind = (
            "audit process"
            if "forkserver" in command
            else "web worker"
            if "spawn" in command
            else "service"
        )
        # Own time, and that of children already reaped (an audit process retired
        # after its quota of audits is counted in the web worker that waited for it).
        seconds = sum(int(value) for value in fields[11:15]) / tick
        found[int(entry.name)] = (int(fields[1]), kind, seconds)
    family, grown = {root}, True
    while grown:
        grown = False
        for pid, (parent, _, _) in found.items():
            if parent in family and pid not in family:
                family.add(pid)
                grown = True
    return {pid: found[pid][1:] for pid in family if pid in found}


def wait_until_up(port: int, service: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise SystemExit(f"the service exited with code {service.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("the service did not answer /api/health in time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="service worker processes")
    parser.add_argument(
        "--audit-processes", type=int, default=None, help="audit processes per worker"
    )
    parser.add_argument("--register", type=Path, default=REGISTER)
    parser.add_argument("--participants", type=int, default=EXPECTED_PARTICIPANTS)
    parser.add_argument("--output", type=Path, help="write the measurements here as JSON")
    parser.add_argument(
        "--cpu", action="store_true", help="print each service process's CPU time per audit"
    )
    args = parser.parse_args()

    port = free_port()
    tool = Path(sys.executable).with_name("inclusion-audit")
    service = subprocess.Popen(
        [
            str(tool),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            *(
                ["--audit-processes", str(args.audit_processes)]
                if args.audit_processes is not None
                else []
            ),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    try:
        wait_until_up(port, service)
        body, content_type = multipart({"area": "Lambeth", "eligible_age": "16+"}, args.register)
        local = threading.local()
        failures: list[str] = []

        def one(_: int) -> float:
            if not hasattr(local, "connection"):
                local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            started = time.perf_counter()
            local.connection.request(
                "POST", "/api/audit", body=body, headers={"Content-Type": content_type}
            )
            response = local.connection.getresponse()
            payload = response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                failures.append(f"status {response.status}: {payload[:200]!r}")
            elif json.loads(payload)["n_participants"] != args.participants:
                failures.append("wrong number of participants")
            return elapsed

        cpu_before = service_cpu(service.pid)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            latencies = sorted(pool.map(one, range(args.requests)))
        wall = time.perf_counter() - started
        cpu_after = service_cpu(service.pid)
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
    if failures:
        print(f"{len(failures)} of {args.requests} answers were wrong: {failures[0]}")
        return 1

    def percentile(q: float) -> float:
        return latencies[min(len(latencies) - 1, round(q * (len(latencies) - 1)))] * 1000

    measured = {
        "requests": args.requests,
        "clients": args.clients,
        "workers": args.workers,
        "seconds": round(wall, 3),
        "requests_per_second": round(args.requests / wall, 1),
        "latency_ms": {
            "median": round(statistics.median(latencies) * 1000, 1),
            "p95": round(percentile(0.95), 1),
            "p99": round(percentile(0.99), 1),
            "max": round(latencies[-1] * 1000, 1),
        },
    }
    if args.cpu:
        per_audit = {
            pid: (seconds - cpu_before.get(pid, (name, 0.0))[1]) * 1000 / args.requests
            for pid, (name, seconds) in cpu_after.items()
        }
        measured["cpu_ms_per_audit"] = {
            "processes": {
                f"{cpu_after[pid][0]} {pid}": round(ms, 2) for pid, ms in per_audit.items() if ms
            },
            "total": round(sum(per_audit.values()), 2),
        }
        for process, ms in measured["cpu_ms_per_audit"]["processes"].items():
            print(f"  {process}: {ms} ms of CPU per audit")
        print(f"  the service: {measured['cpu_ms_per_audit']['total']} ms of CPU per audit")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")
    latency = measured["latency_ms"]
    print(
        f"{args.requests} audits from {args.clients} clients, {args.workers} workers: "
        f"{measured['requests_per_second']} per second; latency median {latency['median']} ms, "
        f"p95 {latency['p95']} ms, p99 {latency['p99']} ms; every answer checked"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
