#!/usr/bin/env python3
"""Turns scripts/bench-peers.sh's results.jsonl into BENCHMARKS.md's "Peers" tables.

Usage: scripts/peers-table.py RESULTS.jsonl

One table per network (host and validator count), a row per VM and request shape, and the
ratios issue #12 asks for, every figure from the file: transfervm / subnet-evm and
transfervm / xsvm in accepted transfers per second and in node CPU per transfer (the peer's CPU
per 1,000 over transfervm's, so above 1 means transfervm spends less), and each one-per-request
rate as a share of the same network's no-op rate through the node's HTTP -> gRPC hop.
"""
import json
import sys


def fmt(x, digits=0):
    return f"{x:,.{digits}f}".replace(",", " ")


def main(path):
    lines = [json.loads(l) for l in open(path) if l.strip()]
    head = lines[0] if lines and "loadavg" in lines[0] else {}
    runs = [l for l in lines if "acceptedPerSecond" in l]
    hops = {(l["host"], l["nodes"], l["vm"]): l["noopPerSecond"] for l in lines if "noopPerSecond" in l}
    if head:
        print(f"Load average at the start: {head['loadavg']}; shape: {head['senders']} senders, "
              f"window {head['window']}, {head['workers']} requests in flight, "
              f"{head['duration']} per run; proposerMinBlockDelay {head['proposerMinBlockDelay']}.")
        print()
    nets = []
    for r in runs:
        if (r["host"], r["nodes"]) not in nets:
            nets.append((r["host"], r["nodes"]))
    for host, nodes in nets:
        print(f"**{host}, {nodes} validator{'s' if nodes > 1 else ''}**")
        print()
        print("| VM | transfers per request | accepted/s | p50 / p99 submit → accepted (ms) "
              "| node CPU s per 1 000 (of which the VM's plugin) | disk bytes per 1 000 | lost / rejected | no-op calls/s through the node | one-per-request rate as a share of the no-op rate |")
        print("|---|---|---|---|---|---|---|---|---|")
        mine = [r for r in runs if r["host"] == host and r["nodes"] == nodes]
        for r in mine:
            noop = hops.get((host, nodes, r["vm"]))
            share = f"{r['acceptedPerSecond'] / noop:.1%}" if noop and r["batch"] == 1 else "—"
            plugin = f" ({r['pluginCpuSecondsPer1000']:.2f})" if "pluginCpuSecondsPer1000" in r else ""
            print(f"| {r['vm']} | {r['batch']} | {fmt(r['acceptedPerSecond'])} "
                  f"| {fmt(r['p50ms'])} / {fmt(r['p99ms'])} | {r['nodeCpuSecondsPer1000']:.2f}{plugin} "
                  f"| {fmt(r['diskBytesPer1000'])} | {r['lost']} / {r['rejected']} "
                  f"| {fmt(noop) if noop else '—'} | {share} |")
        print()
        by = {(r["vm"], r["batch"]): r for r in mine}
        ratios = []
        for peer in ("subnet-evm", "xsvm"):
            for tb, pb in ((100, 100), (1, 1), (100, 1)):
                t, p = by.get(("transfervm", tb)), by.get((peer, pb))
                if not t or not p or (peer == "subnet-evm" and tb != pb):
                    continue
                rate = t["acceptedPerSecond"] / p["acceptedPerSecond"] if p["acceptedPerSecond"] else float("inf")
                cpu = p["nodeCpuSecondsPer1000"] / t["nodeCpuSecondsPer1000"] if t["nodeCpuSecondsPer1000"] else float("inf")
                ratios.append(f"transfervm ({tb} per request) / {peer} ({pb} per request): "
                              f"{rate:.1f}× the accepted transfers/s, {cpu:.1f}× less node CPU per transfer")
        for line in ratios:
            print(f"- {line}")
        if ratios:
            print()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: peers-table.py RESULTS.jsonl")
    main(sys.argv[1])
