"""`make bench`: runs every benchmarks/bench_*.py in turn (one process each) and prints their tables.

Usage: python benchmarks/run_all.py [NAME_FILTER ...]
Each script times one hot path against mmdet/mmcv's own implementation in the same run and prints
a markdown table of ratios. Nothing here is part of `make test`.
"""
import glob
import os
import platform
import subprocess
import sys
import time

import torch


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    filters = sys.argv[1:]
    scripts = sorted(glob.glob(os.path.join(here, 'bench_*.py')))
    scripts = [s for s in scripts if not filters or any(f in s for f in filters)]
    print(f'# mmdet-scalenorm benchmarks, {time.strftime("%Y-%m-%d %H:%M")} UTC')
    print(f'machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, '
          f'torch {torch.__version__}, threads {torch.get_num_threads()}, '
          f'CUDA: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"}')
    failed = []
    for s in scripts:
        print(f'\n## {os.path.basename(s)}', flush=True)
        if subprocess.call([sys.executable, s]) != 0:
            failed.append(os.path.basename(s))
    if failed:
        sys.exit(f'benchmarks failed: {failed}')


if __name__ == '__main__':
    main()
