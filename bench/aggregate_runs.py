#!/usr/bin/env python3
# python3 bench/aggregate_runs.py run1/latest.json run2/latest.json run3/latest.json > table.md
# Aggregates several full benchmark runs (latest.json files) into one markdown table:
# the last run's times, each run's ratio, the median ratio, each run's median of paired ratios
# (the ratios of samples taken side by side; absent from runs made before 2026-12-05 10:40 UTC),
# GEMM share of peak, allocation and GC share.
import json, sys, statistics
runs = [json.load(open(p)) for p in sys.argv[1:]]
last = runs[-1]
# The highest peak reading of the runs: another tenant's load only ever lowers one.
peak = max(run['fma_peak_gflops_per_core'] for run in runs)
def fmt_t(s):
    return f"{s*1e6:.1f} µs" if s < 1e-3 else (f"{s*1e3:.2f} ms" if s < 1 else f"{s:.2f} s")
def fmt_b(b):
    return f"{b:.0f} B" if b < 1024 else (f"{b/1024:.1f} KiB" if b < 1<<20 else f"{b/(1<<20):.1f} MiB")
paired_runs = all('paired_ratio_median' in x for run in runs for x in run['results'])
print(f"| workload | threads | MetaGrad (run {len(runs)}) | libtorch (run {len(runs)}) | ratios, runs 1–{len(runs)} | median |"
      + (f" paired medians, runs 1–{len(runs)} |" if paired_runs else "") + " MetaGrad alloc/rep | GC % |")
print("| --- | ---: | ---: | ---: | --- | ---: |" + (" --- |" if paired_runs else "") + " ---: | ---: |")
for r in last['results']:
    key = (r['Name'], r['Threads'])
    same = [x for run in runs for x in run['results'] if (x['Name'], x['Threads']) == key]
    ratios = [x['ratio'] for x in same]
    paired = ' ' + ', '.join('%.2f' % x['paired_ratio_median'] for x in same) + ' |' if paired_runs else ''
    name = r['Name']
    if name.startswith('sgemm'):
        share = r['Flops'] / r['metagrad_seconds'] / 1e9 / (peak * r['Threads'])
        name += f" ({share*100:.0f}% of peak)"
    print(f"| {name} | {r['Threads']} | {fmt_t(r['metagrad_seconds'])} | {fmt_t(r['libtorch_seconds'])} | {', '.join(f'{x:.2f}' for x in ratios)} | {statistics.median(ratios):.2f} |{paired} {fmt_b(r['allocated_bytes_per_rep'])} | {r['gc_percent']:.1f} |")
