"""Shared timing helpers for `make bench`: every figure is a ratio against mmdet/mmcv's own
implementation measured in the same run, because these machines are noisy."""
import time
from typing import Callable, List, Sequence


def measure_ms(fn: Callable[[], object], repeat: int = 20, warmup: int = 3) -> float:
    """Median wall time of ``fn()`` in milliseconds (CUDA work is synchronised)."""
    import torch
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def print_table(title: str, header: Sequence[str], rows: List[Sequence[object]]) -> None:
    """Print a markdown table (the format the README quotes)."""
    def fmt(v):
        return f'{v:.3g}' if isinstance(v, float) else str(v)
    print(f'\n### {title}\n')
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '|'.join('---' for _ in header) + '|')
    for r in rows:
        print('| ' + ' | '.join(fmt(v) for v in r) + ' |')
    print(flush=True)
