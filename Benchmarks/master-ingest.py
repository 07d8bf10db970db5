#!/usr/bin/env python3
"""Master ingest of status updates, against raw libzmq in the same run.

Each round starts a fresh `agora master` (release build) and `agora simulate --agents N
--tasks-per-agent M --update-rounds R`. Once all N*M tasks run, every simulated task sends
R further TASK_RUNNING updates (as health-check results would), each one only after the
previous one of that task was acknowledged by the simulator's built-in framework (through
the SDK, via the master), so N*M updates are in flight at any time. Measured over the
rounds (the simulator's update_rounds_started .. update_rounds_complete):
  - updates/s the master ingested: the delta of its /metrics counter
    agora_master_status_updates_total, divided by the rounds' duration,
  - the master's CPU seconds per update (utime+stime from /proc/PID/stat) and the implied
    single-core ceiling (1 / CPU per update),
  - the CPU the master and the simulator used, as a share of one core, so a reader sees
    which of the two was the limit.
/metrics is read only before and after the rounds: each read makes the master build a
snapshot of its whole state, which would otherwise be counted as ingest work.

Then, in the same round, the raw-libzmq baseline (`zmq_bench ingest`): as many DEALERs as
the simulator has connections send the same number of messages, of the size of one
encoded status-update envelope, to a ROUTER that only receives them.

Prints one JSON object per round and a Markdown table of the medians over the rounds.
"""
import argparse
import importlib.util
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time

_spec = importlib.util.spec_from_file_location(
    "master_scale", os.path.join(os.path.dirname(os.path.abspath(__file__)), "master-scale.py"))
master_scale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(master_scale)
Daemon, start_master, metrics = master_scale.Daemon, master_scale.start_master, master_scale.metrics

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
COUNTER = "agora_master_status_updates_total"


def cpu_seconds(pid):
    """utime + stime of process `pid` (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CPUSampler:
    """Samples the CPU time of some processes every `interval` seconds, so the CPU used
    between two wall-clock instants can be read off afterwards."""

    def __init__(self, pids, interval=0.05):
        self.pids, self.interval = pids, interval
        self.samples = []  # (unix time, [cpu seconds per pid])
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.is_set():
            self.samples.append((time.time(), [cpu_seconds(pid) for pid in self.pids]))
            self.stopped.wait(self.interval)

    def stop(self):
        self.stopped.set()
        self.thread.join()
        self.samples.append((time.time(), [cpu_seconds(pid) for pid in self.pids]))

    def at(self, when):
        """CPU seconds of each process at Unix time `when`, interpolated between samples."""
        before = max((s for s in self.samples if s[0] <= when), key=lambda s: s[0], default=self.samples[0])
        after = min((s for s in self.samples if s[0] >= when), key=lambda s: s[0], default=self.samples[-1])
        if after[0] == before[0]:
            return before[1]
        weight = (when - before[0]) / (after[0] - before[0])
        return [b + (a - b) * weight for b, a in zip(before[1], after[1])]


def run_raw(raw, size, count, connections):
    out = subprocess.run([raw, "ingest", str(size), str(count), str(connections)], check=True,
                         capture_output=True, text=True, timeout=600).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_agora(args, index):
    work_dir = tempfile.mkdtemp(prefix="agora-master-ingest-")
    result = {"round": index, "agents": args.agents, "tasks_per_agent": args.tasks_per_agent,
              "update_rounds": args.update_rounds, "load_average_before": os.getloadavg()[0]}
    master = sim = perf = None
    try:
        master, _, ready = start_master(args.agora, work_dir, 0, 0, "0")
        http = ready["master_http"]
        sim = Daemon([args.agora, "simulate", "--master", ready["master"], "--agents", str(args.agents),
                      "--tasks-per-agent", str(args.tasks_per_agent), "--connections", str(args.connections),
                      "--update-rounds", str(args.update_rounds), "--update-delay", str(args.update_delay)],
                     os.path.join(work_dir, "simulate.log"))
        _, ready_line = sim.wait_for(lambda o: o.get("ready"), args.timeout, "the simulator's ready line")
        result["tasks"] = ready_line["tasks"]
        counted_before = metrics(http)[COUNTER]
        before_read_done = time.time()
        sampler = CPUSampler([master.proc.pid, sim.proc.pid])
        if args.perf_record and index == 0:
            perf = subprocess.Popen(["perf", "record", "-F", str(args.perf_frequency), "-g", "-p", str(master.proc.pid),
                                     "-o", args.perf_record], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, started = sim.wait_for(lambda o: o.get("event") == "update_rounds_started", args.timeout,
                                  "update_rounds_started")
        _, complete = sim.wait_for(lambda o: o.get("event") == "update_rounds_complete", args.timeout,
                                   "update_rounds_complete")
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=120)
            result["perf_record"] = args.perf_record
        sampler.stop()
        counted_after = metrics(http)[COUNTER]
        if before_read_done > started["unix"]:
            raise RuntimeError("the /metrics read before the rounds overlapped them; raise --update-delay")

        seconds = complete["seconds"]
        master_cpu = [b - a for a, b in zip(sampler.at(started["unix"]), sampler.at(complete["unix"]))]
        ingested = counted_after - counted_before
        result.update({
            "updates": complete["updates"],
            "master_counted_updates": ingested,
            "retries": complete["retries"],
            "envelope_bytes": complete["envelope_bytes"],
            "seconds": seconds,
            "updates_per_second": ingested / seconds,
            "master_cpu_seconds": master_cpu[0],
            "simulator_cpu_seconds": master_cpu[1],
            "master_cores_busy": master_cpu[0] / seconds,
            "simulator_cores_busy": master_cpu[1] / seconds,
            # A tiny run can take less CPU than one clock tick (10 ms): no ceiling then.
            "master_cpu_us_per_update": master_cpu[0] / ingested * 1e6 if ingested else None,
            "master_single_core_ceiling": ingested / master_cpu[0] if master_cpu[0] > 0 else None,
            "load_average_after": os.getloadavg()[0],
        })
        return result
    finally:
        if perf and perf.poll() is None:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=120)
        if sim:
            sim.stop()
        if master:
            master.stop()
        if args.keep:
            print(f"kept {work_dir}", flush=True)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agora", required=True, help="the agora binary (release build)")
    parser.add_argument("--raw", required=True, help="Benchmarks/.build/raw-zmq/zmq_bench")
    parser.add_argument("--agents", type=int, default=2_000)
    parser.add_argument("--tasks-per-agent", type=int, default=10)
    parser.add_argument("--update-rounds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=4, help="the simulator's connections and raw DEALERs")
    parser.add_argument("--update-delay", type=float, default=3, help="seconds between ready and the rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--perf-record", help="perf record -g the master during the first round into this file")
    parser.add_argument("--perf-frequency", type=int, default=499)
    parser.add_argument("--keep", action="store_true", help="keep the work dirs and logs")
    args = parser.parse_args()

    agora, raw = [], []
    for index in range(args.rounds):
        result = run_agora(args, index)
        print(json.dumps(result), flush=True)
        agora.append(result)
        baseline = run_raw(args.raw, result["envelope_bytes"], int(result["master_counted_updates"]), args.connections)
        baseline["round"] = index
        print(json.dumps(baseline), flush=True)
        raw.append(baseline)

    def median(results, key):
        return statistics.median(r[key] for r in results)

    a_rate, r_rate = median(agora, "updates_per_second"), median(raw, "msgs_per_sec")
    # Rounds too short to measure the master's CPU (below one clock tick) have none.
    measured = [r["master_cpu_us_per_update"] for r in agora if r["master_cpu_us_per_update"]]
    a_cpu, r_cpu = (statistics.median(measured) if measured else None), median(raw, "cpu_us_per_msg")
    print(f"\n| {args.agents:,} agents × {args.tasks_per_agent} tasks × {args.update_rounds} rounds "
          f"({median(agora, 'updates'):,.0f} updates of {median(agora, 'envelope_bytes'):.0f} B) "
          "| Agora master | raw libzmq | Agora / libzmq |")
    print("|---|---|---|---|")
    print(f"| ingest (updates or messages / s) | {a_rate:,.0f} | {r_rate:,.0f} | {a_rate / r_rate:.1%} |")
    if a_cpu:
        print(f"| receiver CPU per message (µs) | {a_cpu:.1f} | {r_cpu:.2f} | {a_cpu / r_cpu:.0f}× |")
        print(f"| single-core ceiling (1 / CPU per message, /s) | {1e6 / a_cpu:,.0f} | {1e6 / r_cpu:,.0f} | "
              f"{r_cpu / a_cpu:.1%} |")
    else:
        print("| receiver CPU per message (µs) | too short to measure | | |")
    print(f"| master busy (cores) | {median(agora, 'master_cores_busy'):.2f} | | |")
    print(f"| simulator busy (cores) | {median(agora, 'simulator_cores_busy'):.2f} | | |")
    print(f"| rounds duration (s) | {median(agora, 'seconds'):.2f} | {median(raw, 'seconds'):.2f} | |")
    print(f"| updates re-sent after the 10 s backoff | {median(agora, 'retries'):,.0f} | | |")
    print(f"\nmedians over {args.rounds} round(s), each round Agora then raw libzmq")


if __name__ == "__main__":
    main()
