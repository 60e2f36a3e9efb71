#!/usr/bin/env python3
"""Exchange capacity on the emulated cluster: bytes per second through one
parameter-server node for centers of LeNet, AlexNet (61 M parameters) and
VGG-16 (138 M) size, with 1, 2, 4, 8 clients exchanging back to back
(async-easgd: pull the center, push the elastic difference), on 1 and
10 Gbit/s node links, with the center in one server process or split over
P (the server and P - 1 `deepspark shard-server`s, each on a node of its
own with --server-cpu cores and its own link).

The server node gets --server-cpu cores, each client node --cpu; every node
the link. Each run lasts long enough for every client to make a few
exchanges. Writes bench/results/cluster_capacity_<name>.json and .md.

Usage: bench/cluster/capacity.py [--sizes lenet alexnet vgg16] [--clients 1 2 4 8]
         [--mbit 1000 10000] [--server-processes 1 2 4] [--name NAME]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402

BENCH = os.path.join(cluster.ROOT, "build", "bench", "deepspark_exchange_bench")
TOOL = os.path.join(cluster.ROOT, "build", "deepspark")
WORK = os.path.join(cluster.ROOT, "build", "cluster-capacity")
RESULTS = os.path.join(cluster.ROOT, "bench", "results")
SIZES = {"lenet": 431080, "alexnet": 60965224, "vgg16": 138357544}


def run_one(args, size, clients, mbit, processes=1):
    params = SIZES[size]
    # A few exchanges per client: each moves the model twice (pull + push),
    # through the links of the server processes.
    per_exchange_s = 2 * 4 * params * clients / (mbit / 8 * 1e6) / processes
    seconds = max(args.seconds, 3 * per_exchange_s)
    servers = ["server"] + [f"s{p}" for p in range(1, processes)]
    nodes = ([(name, args.server_cpu, mbit) for name in servers] +
             [(f"c{i}", args.cpu, mbit) for i in range(clients)])
    workdir = os.path.join(WORK, f"{size}_{clients}_{mbit}_{processes}")
    os.makedirs(workdir, exist_ok=True)
    key, endpoint = os.path.join(workdir, "job.key"), os.path.join(workdir, "endpoint")
    for f in (key, endpoint):
        if os.path.exists(f):
            os.remove(f)
    record = {"size": size, "params": params, "clients": clients, "mbit": mbit,
              "server_processes": processes, "server_cpu": args.server_cpu,
              "client_cpu": args.cpu}
    with cluster.Cluster(nodes) as c:
        port = cluster.free_port()
        server = c.start("server", [BENCH, "server", f"--params={params}", f"--workers={clients}",
                                    f"--listen=tcp://{c.address('server')}:{port}",
                                    f"--key-file={key}", f"--endpoint-file={endpoint}",
                                    f"--shards={args.shards}", f"--shard-servers={processes - 1}",
                                    f"--seconds={seconds + 60}"],
                         os.path.join(workdir, "server.log"))
        deadline = time.time() + 120
        while not os.path.exists(endpoint):
            if server.poll() is not None or time.time() > deadline:
                record["error"] = "the server did not start; see " + workdir
                return record
            time.sleep(0.2)
        ep = open(endpoint).read().strip()
        for name in servers[1:]:
            c.start(name, [TOOL, "shard-server", f"--server={ep}", f"--key-file={key}",
                           f"--listen=tcp://{c.address(name)}:0",
                           f"--source-address={c.address(name)}"],
                    os.path.join(workdir, f"{name}.log"))
        outs = []
        for i in range(clients):
            out = os.path.join(workdir, f"client{i}.json")
            outs.append(out)
            if os.path.exists(out):
                os.remove(out)
            c.start(f"c{i}", ["sh", "-c", f'exec "$0" "$@" > {out}', BENCH, "client",
                              f"--server={ep}", f"--key-file={key}",
                              f"--source-address={c.address(f'c{i}')}",
                              f"--seconds={seconds}"], os.path.join(workdir, f"client{i}.log"))
        for p in c.procs[processes:]:
            p.wait(timeout=seconds + 300)
    runs = []
    for out in outs:
        try:
            runs.append(json.loads(open(out).read().strip().splitlines()[-1]))
        except (OSError, ValueError, IndexError):
            record["error"] = f"a client wrote no result; see {workdir}"
            return record
    span = max(r["seconds"] for r in runs)
    record.update({
        "seconds": span, "exchanges": sum(r["exchanges"] for r in runs),
        "to_server_MBps": sum(r["bytes_sent"] for r in runs) / span / 1e6,
        "from_server_MBps": sum(r["bytes_received"] for r in runs) / span / 1e6,
    })
    link = mbit / 8
    record["link_MBps"] = link
    # Of one node's link (a client's, or a lone server's), and of the links
    # of all server processes together.
    record["link_use"] = max(record["to_server_MBps"], record["from_server_MBps"]) / link
    record["server_links_use"] = record["link_use"] / processes
    return record


def table(records):
    lines = ["| model | parameters | clients | server processes | link Mbit/s | exchanges | "
             "to server MB/s | from server MB/s | of one link | of the server links |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in records:
        procs = r.get("server_processes", 1)
        if "error" in r:
            lines.append(f"| {r['size']} | {r['params']} | {r['clients']} | {procs} | "
                         f"{r['mbit']} | error: {r['error']} | | | | |")
            continue
        lines.append(f"| {r['size']} | {r['params']:,} | {r['clients']} | {procs} | {r['mbit']} | "
                     f"{r['exchanges']} | {r['to_server_MBps']:.1f} | "
                     f"{r['from_server_MBps']:.1f} | {100 * r['link_use']:.0f}% | "
                     f"{100 * r.get('server_links_use', r['link_use']):.0f}% |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=list(SIZES))
    ap.add_argument("--clients", nargs="+", type=int, default=[1, 2, 4, 8])
    ap.add_argument("--mbit", nargs="+", type=int, default=[1000, 10000])
    ap.add_argument("--cpu", type=float, default=1.0, help="cores per client node")
    ap.add_argument("--server-cpu", type=float, default=2.0, help="cores of the server node")
    ap.add_argument("--shards", type=int, default=2, help="shards per server process")
    ap.add_argument("--server-processes", nargs="+", type=int, default=[1],
                    help="the center over P processes on P nodes (P - 1 shard servers)")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--max-clients-vgg", type=int, default=4,
                    help="VGG-16 size with more clients than this does not fit in memory here")
    ap.add_argument("--name", default="emulated")
    args = ap.parse_args()
    reason = cluster.why_not()
    if reason:
        print(f"cannot emulate a cluster here: {reason}")
        return 1
    cluster.enter_private_netns()
    os.makedirs(WORK, exist_ok=True)
    records = []
    for size in args.sizes:
        for mbit in args.mbit:
            for n in args.clients:
                if size == "vgg16" and n > args.max_clients_vgg:
                    continue
                for processes in args.server_processes:
                    r = run_one(args, size, n, mbit, processes)
                    print(json.dumps(r), flush=True)
                    records.append(r)
    out = os.path.join(RESULTS, f"cluster_capacity_{args.name}")
    with open(out + ".json.tmp", "w") as f:
        json.dump(records, f, indent=1)
    os.replace(out + ".json.tmp", out + ".json")
    with open(out + ".md", "w") as f:
        f.write(table(records) + "\n")
    print(table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
