"""Launch helpers shared by ``tools/train.py`` and ``tools/test.py``.

mmengine 0.10.7's ``--launcher pytorch`` calls ``torch.cuda.set_device`` unconditionally, which
fails with a CPU build of torch.  When CUDA is unavailable we initialise a gloo process group
ourselves (mmengine then skips its own ``init_dist``) and wrap the model in DDP without
``device_ids``, so ``tools/dist_train.sh CONFIG 2`` also runs on a CPU machine.
"""
import os
from datetime import timedelta

import torch
import torch.distributed as dist


def prepare_cpu_launch(cfg) -> bool:
    """Prepare a distributed CPU run in place; return True when it did anything.

    Does nothing when the launcher is ``none`` or CUDA is available (mmengine's own path works).
    The backend comes from ``cfg.env_cfg.dist_cfg.backend`` when set to a CPU-capable one,
    else gloo (nccl needs GPUs).
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return False
    if not dist.is_initialized():
        env_cfg = cfg.get('env_cfg') or {}
        dist_cfg = dict(env_cfg.get('dist_cfg') or {})
        backend = dist_cfg.pop('backend', 'gloo')
        if backend == 'nccl':
            backend = 'gloo'
        timeout = dist_cfg.pop('timeout', 1800)
        if cfg.launcher == 'slurm':
            _slurm_env_to_torch_env()
        dist.init_process_group(
            backend=backend, timeout=timedelta(seconds=timeout), **dist_cfg)
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True


def _slurm_env_to_torch_env():
    """Translate slurm's variables into the ones ``init_process_group('env://')`` reads."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        import subprocess
        node_list = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')
