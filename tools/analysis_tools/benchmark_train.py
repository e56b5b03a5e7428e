"""Time the training step (our TorchSigmoidFocalLoss vs mmdet's FocalLoss) and
the data pipeline of a config, side by side, in one run.

Prints images/s and peak memory of the train step (forward, backward,
optimizer step; random weights) with each loss, the data loader's
samples/s, and the ratios. Runs on CPU (tiny settings) or GPU; what is
measured is in mmdet_inbreast/utils/benchmark/train.py. Without --data-root a
small synthetic release (with splits and statistics) is written to a
temporary folder for the data pipeline (and the train-step inputs unless
--synthetic-input).

Example:
    python tools/analysis_tools/benchmark_train.py configs/retina_patch_fast.py --device cuda --iters 50 --synthetic-input 1024x1024 --data-root "data/INbreast Release 1.0" --out work_dirs/benchmark_train.json
    python tools/analysis_tools/benchmark_train.py configs/demo/retina_demo_patch.py --iters 5 --warmup 2 --batch-size 2 --synthetic-input 64x64
"""
import argparse
import json
import os
import os.path as osp
import platform
import tempfile

import torch
from mmengine.config import Config, DictAction

import mmdet_inbreast  # noqa: F401  (registers the components)
from mmdet_inbreast.utils.benchmark.train import (prepare_synthetic_release,
                                                  run_benchmark)
from mmdet_inbreast.utils.benchmark.train_data import parse_hw
from mmdet_inbreast.utils import apply_cfg_options, set_data_root
from mmdet_inbreast.utils.cli import run_tool


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help='training config')
    p.add_argument('--iters', type=int, default=20,
                   help='timed train steps per loss')
    p.add_argument('--warmup', type=int, default=3,
                   help='untimed steps (and loader batches) first')
    p.add_argument('--data-iters', type=int, default=20,
                   help='timed data-loader batches')
    p.add_argument('--batch-size', type=int,
                   help="images per step (default: the config's)")
    p.add_argument('--workers', type=int,
                   help="data-loader workers (default: the config's)")
    p.add_argument('--amp-dtype', choices=['bfloat16', 'float16'],
                   help="autocast dtype (default: the config's amp_dtype, "
                   'else float32)')
    p.add_argument('--device', choices=['cpu', 'cuda'],
                   default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--data-root', help='release folder with splits and '
                   'statistics; default: a synthetic one in a temp folder')
    p.add_argument('--synthetic-scale', type=float, default=0.125,
                   help='image scale of the synthetic release')
    p.add_argument('--synthetic-patients', type=int, default=4)
    p.add_argument('--synthetic-input', type=parse_hw, metavar='HxW',
                   help='random HxW train-step inputs instead of loader '
                   'batches')
    p.add_argument('--threads', type=int,
                   help="torch's intra-op CPU threads (default: torch's; 1 "
                   'is steadier on a machine shared with other jobs)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--peer', choices=['torchvision'],
                   help="also time torchvision's retinanet_resnet50_fpn on "
                   'the same --synthetic-input, batch and dtype')
    p.add_argument('--out', help='JSON of the results (optional)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, key=value')
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    apply_cfg_options(cfg, args.cfg_options)
    with tempfile.TemporaryDirectory(prefix='bench_train_') as tmp:
        data_root = args.data_root
        if data_root is None:
            print(f'writing a synthetic release ({args.synthetic_patients} '
                  f'patients, scale {args.synthetic_scale:g}) to {tmp}',
                  flush=True)
            data_root = prepare_synthetic_release(
                tmp, args.synthetic_patients, args.synthetic_scale, args.seed)
        set_data_root(cfg, data_root)
        report = run_benchmark(
            cfg, iters=args.iters, warmup=args.warmup,
            data_iters=args.data_iters, device=args.device,
            amp_dtype=args.amp_dtype, batch_size=args.batch_size,
            workers=args.workers, synthetic_input=args.synthetic_input,
            seed=args.seed, progress=lambda line: print(line, flush=True))
    machine = (torch.cuda.get_device_name() if args.device == 'cuda' else
               f'{platform.processor() or platform.machine()}, '
               f'{os.cpu_count()} CPUs, {torch.get_num_threads()} threads')
    report.update(config=args.config, machine=machine,
                  data_root=args.data_root or 'synthetic')
    print(f"{args.config}: {machine}, batch {report['batch_size']}, "
          f"{report['amp_dtype'] or 'float32'}, {report['input']}")
    print(report['table'])
    if args.peer and args.synthetic_input:
        from mmdet_inbreast.models.peers import bench_torchvision_retinanet
        report['peer'] = peer = bench_torchvision_retinanet(
            report['batch_size'], *args.synthetic_input, args.iters,
            args.warmup, args.device, report['amp_dtype'], args.seed)
        note = f", {peer['error']}" if peer['error'] else ''
        print(f"peer {peer['name']}: {peer['img_per_s']} img/s, peak "
              f"{peer['peak_gib']} GiB{note}")
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=2, default=str)
        print(f'written to {args.out}')
    if report['ours']['error'] is not None:
        raise SystemExit(1)


if __name__ == '__main__':
    run_tool(main)
