#!/usr/bin/env python3
"""Master scale and failover: `agora simulate` against a real `agora master`.

Each round starts a fresh master (release build, its own temporary work dir) and
`agora simulate --agents N --tasks-per-agent M`, then measures:
  - the time for all N agents to register (from the simulator's start),
  - the time until all N*M tasks run (launched by the simulator's built-in framework),
  - the allocation cycle time while the framework keeps declining offers (the master's
    /metrics gauge agora_master_allocation_run_seconds, sampled for --sample-seconds),
  - the master's RSS (VmRSS, and the peak VmHWM),
  - /state, then /state-summary, then /tasks (a page of 100, Mesos' default) latency
    under --state-clients concurrent clients for --state-seconds each,
  - master failover, --failovers times: SIGKILL the master, start it again on the same
    work dir and ports, and time until every agent has re-registered and the framework
    receives offers again (the simulator's failover_complete line).
Prints one JSON object per round and a Markdown table of the medians over the rounds.
"""
import argparse
import json
import os
import queue
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request


class Daemon:
    """A child process whose stdout JSON lines are collected with their arrival time."""

    def __init__(self, argv, log_path):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     start_new_session=True)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if line.startswith("{"):
                self.lines.put((time.time(), json.loads(line)))

    def wait_for(self, predicate, timeout, what):
        """The first line (seen before or arriving within `timeout`) that matches."""
        for arrived, obj in self.seen:
            if predicate(obj):
                return arrived, obj
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None and self.lines.empty():
                raise RuntimeError(f"process exited ({self.proc.returncode}) while waiting for {what}; see {self.log.name}")
            try:
                arrived, obj = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append((arrived, obj))
            if predicate(obj):
                return arrived, obj
        raise RuntimeError(f"timed out after {timeout}s waiting for {what}; see {self.log.name}")

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def start_master(agora, work_dir, port, http_port, tag):
    master = Daemon([agora, "master", "--work-dir", os.path.join(work_dir, "master"), "--ip", "127.0.0.1",
                     "--port", str(port), "--http-port", str(http_port)],
                    os.path.join(work_dir, f"master-{tag}.log"))
    arrived, ready = master.wait_for(lambda o: o.get("ready"), 120, "the master's ready line")
    return master, arrived, ready


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024  # MiB
    return fields


def cpu_seconds(pid):
    """User + system CPU seconds `pid` has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metrics(http):
    text = urllib.request.urlopen(http + "/metrics", timeout=30).read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def sample_allocation(http, seconds):
    """Durations (ms) of the allocation cycles seen in `seconds`. The master's gauge holds
    the last cycle that made offers (or took over 1 ms), so each new value is one cycle."""
    durations, last = [], None
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = metrics(http)["agora_master_allocation_run_seconds"]
        if last is not None and value != last:
            durations.append(value * 1000)
        last = value
        time.sleep(0.1)
    return durations


def state_load(http, clients, seconds, path="/state"):
    """`clients` threads GET `path` back to back for `seconds`; latencies in ms."""
    latencies, sizes, errors = [], [], []
    lock = threading.Lock()
    deadline = time.time() + seconds

    def client():
        while time.time() < deadline:
            start = time.perf_counter()
            try:
                body = urllib.request.urlopen(http + path, timeout=120).read()
            except Exception as error:  # counted and reported, not fatal
                with lock:
                    errors.append(str(error))
                continue
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                sizes.append(len(body))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, sizes, errors


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run_round(args, index):
    work_dir = tempfile.mkdtemp(prefix="agora-master-scale-")
    result = {"round": index, "agents": args.agents, "tasks_per_agent": args.tasks_per_agent}
    master = sim = None
    try:
        master, _, ready = start_master(args.agora, work_dir, 0, 0, "0")
        address, http = ready["master"], ready["master_http"]
        port, http_port = address.rsplit(":", 1)[1], http.rsplit(":", 1)[1]
        sim = Daemon([args.agora, "simulate", "--master", address, "--agents", str(args.agents),
                      "--tasks-per-agent", str(args.tasks_per_agent), "--connections", str(args.connections)],
                     os.path.join(work_dir, "simulate.log"))
        _, registered = sim.wait_for(lambda o: o.get("event") == "agents_registered", args.timeout, "agents_registered")
        result["register_seconds"] = registered["seconds_since_start"]
        result["rss_after_register_mib"] = proc_status(master.proc.pid)["VmRSS"]
        _, ready_line = sim.wait_for(lambda o: o.get("ready"), args.timeout, "the simulator's ready line")
        _, running = sim.wait_for(lambda o: o.get("event") == "tasks_running" or o.get("ready"), 1, "tasks_running")
        result["tasks"] = ready_line["tasks"]
        if "seconds_since_subscribed" in running:
            result["launch_seconds"] = running["seconds_since_subscribed"]

        time.sleep(args.settle_seconds)
        cycles = sample_allocation(http, args.sample_seconds)
        result["allocation_cycles_sampled"] = len(cycles)
        if cycles:
            result["allocation_ms_median"] = statistics.median(cycles)
            result["allocation_ms_max"] = max(cycles)
        status = proc_status(master.proc.pid)
        result["rss_mib"], result["peak_rss_mib"] = status["VmRSS"], status["VmHWM"]

        if args.state_clients > 0:
            state = json.loads(urllib.request.urlopen(http + "/state", timeout=120).read())
            result["state_agents"], result["state_tasks"] = len(state["agents"]), len(state["tasks"])
            # The full document, then the summary (no task lists), then a page of tasks,
            # under the same load. Allocation keeps running meanwhile: sample its cycles in
            # parallel with the load.
            for path, prefix in (("/state", "state"), ("/state-summary", "summary"), ("/tasks", "tasks")):
                during = []
                sampler = threading.Thread(target=lambda: during.extend(sample_allocation(http, args.state_seconds)))
                sampler.start()
                latencies, sizes, errors = state_load(http, args.state_clients, args.state_seconds, path)
                sampler.join()
                result[f"{prefix}_requests"] = len(latencies)
                result[f"{prefix}_errors"] = len(errors)
                if latencies:
                    result[f"{prefix}_p50_ms"] = percentile(latencies, 50)
                    result[f"{prefix}_p99_ms"] = percentile(latencies, 99)
                    result[f"{prefix}_mean_ms"] = statistics.mean(latencies)
                    result[f"{prefix}_mib"] = statistics.median(sizes) / (1 << 20)
                if during:
                    result[f"allocation_ms_during_{prefix}_load"] = statistics.median(during)

        failovers = []
        for k in range(args.failovers):
            time.sleep(args.settle_seconds)
            perf = None
            if args.perf_record and index == 0 and k == 0:
                perf = subprocess.Popen(["perf", "record", "-a", "-g", "-F", "999", "-o", args.perf_record],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)  # perf's start-up, before the kill
            killed_at = time.time()
            master.stop(signal.SIGKILL)
            started_at = time.time()
            sim_cpu_before = cpu_seconds(sim.proc.pid)
            master, ready_at, _ = start_master(args.agora, work_dir, port, http_port, str(k + 1))
            _, done = sim.wait_for(lambda o: o.get("event") == "failover_complete" and o["unix"] > started_at,
                                   args.timeout, "failover_complete")
            # Both include up to 0.2 s of polling after the milestone.
            master_cpu, sim_cpu = cpu_seconds(master.proc.pid), cpu_seconds(sim.proc.pid) - sim_cpu_before
            if perf:
                perf.send_signal(signal.SIGINT)
                perf.wait()
            failovers.append({
                "agents_since_start_s": done["agents_unix"] - started_at,
                "offers_since_start_s": done["offers_unix"] - started_at,
                "complete_since_start_s": done["unix"] - started_at,
                "complete_since_ready_s": done["unix"] - ready_at,
                "master_start_s": ready_at - started_at,
                "complete_since_kill_s": done["unix"] - killed_at,
                "master_cpu_s": master_cpu,
                "simulator_cpu_s": sim_cpu,
            })
        if failovers:
            result["failovers"] = failovers
            # /state is a snapshot refreshed every 100 ms or so: poll until it shows the tasks.
            deadline = time.time() + 30
            while True:
                state = json.loads(urllib.request.urlopen(http + "/state", timeout=120).read())
                running = sum(1 for t in state["tasks"] if t["state"] == "TASK_RUNNING")
                if running >= result["tasks"] or time.time() > deadline:
                    break
                time.sleep(0.5)
            result["tasks_after_failover"] = running
            result["rss_after_failover_mib"] = proc_status(master.proc.pid)["VmRSS"]
        return result
    finally:
        if sim:
            sim.stop()
        if master:
            master.stop()
        if args.keep:
            print(f"kept {work_dir}", flush=True)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


def median_of(results, key):
    values = [r[key] for r in results if key in r]
    return statistics.median(values) if values else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agora", required=True, help="the agora binary (release build)")
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--tasks-per-agent", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--failovers", type=int, default=3, help="master kills per round")
    parser.add_argument("--state-clients", type=int, default=20, help="0 skips the /state load")
    parser.add_argument("--state-seconds", type=float, default=20)
    parser.add_argument("--sample-seconds", type=float, default=10)
    parser.add_argument("--settle-seconds", type=float, default=5)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep", action="store_true", help="keep the work dirs and logs")
    parser.add_argument("--perf-record", metavar="PATH",
                        help="record the whole machine (perf record -a -g) during the first failover into PATH")
    args = parser.parse_args()

    results = []
    for index in range(args.rounds):
        result = run_round(args, index)
        print(json.dumps(result), flush=True)
        results.append(result)

    failovers = [f for r in results for f in r.get("failovers", [])]
    rows = [
        ("agents registered (s)", median_of(results, "register_seconds")),
        ("all tasks running after subscribe (s)", median_of(results, "launch_seconds")),
        ("allocation cycle, median (ms)", median_of(results, "allocation_ms_median")),
        ("allocation cycle, max (ms)", median_of(results, "allocation_ms_max")),
        ("allocation cycle under /state load (ms)", median_of(results, "allocation_ms_during_state_load")),
        ("master RSS (MiB)", median_of(results, "rss_mib")),
        ("master peak RSS (MiB)", median_of(results, "peak_rss_mib")),
        ("/state p50 (ms)", median_of(results, "state_p50_ms")),
        ("/state p99 (ms)", median_of(results, "state_p99_ms")),
        ("/state mean (ms)", median_of(results, "state_mean_ms")),
        ("/state size (MiB)", median_of(results, "state_mib")),
        ("/state requests served", median_of(results, "state_requests")),
        ("/state-summary p50 (ms)", median_of(results, "summary_p50_ms")),
        ("/state-summary p99 (ms)", median_of(results, "summary_p99_ms")),
        ("/state-summary mean (ms)", median_of(results, "summary_mean_ms")),
        ("/state-summary size (MiB)", median_of(results, "summary_mib")),
        ("/state-summary requests served", median_of(results, "summary_requests")),
        ("allocation cycle under /state-summary load (ms)", median_of(results, "allocation_ms_during_summary_load")),
        ("/tasks (100 tasks) p50 (ms)", median_of(results, "tasks_p50_ms")),
        ("/tasks (100 tasks) p99 (ms)", median_of(results, "tasks_p99_ms")),
        ("/tasks (100 tasks) mean (ms)", median_of(results, "tasks_mean_ms")),
        ("/tasks (100 tasks) size (MiB)", median_of(results, "tasks_mib")),
        ("/tasks (100 tasks) requests served", median_of(results, "tasks_requests")),
        ("allocation cycle under /tasks load (ms)", median_of(results, "allocation_ms_during_tasks_load")),
    ]
    for key, label in (("master_start_s", "failover: master restart to ready (s)"),
                       ("agents_since_start_s", "failover: all agents re-registered, from restart (s)"),
                       ("offers_since_start_s", "failover: first offer, from restart (s)"),
                       ("complete_since_start_s", "failover: complete, from restart (s)"),
                       ("complete_since_ready_s", "failover: complete, from ready line (s)"),
                       ("complete_since_kill_s", "failover: complete, from kill (s)"),
                       ("master_cpu_s", "failover: master CPU, restart to complete (s)"),
                       ("simulator_cpu_s", "failover: simulated agents' CPU, restart to complete (s)")):
        if failovers:
            rows.append((label, statistics.median(f[key] for f in failovers)))
    print(f"\n| {args.agents:,} agents × {args.tasks_per_agent} tasks | median |")
    print("|---|---|")
    for label, value in rows:
        if value is not None:
            print(f"| {label} | {value:,.3f} |")
    print(f"\n{args.rounds} round(s), {len(failovers)} failover(s) in all")


if __name__ == "__main__":
    main()
