"""Time building :class:`VinDrMammoDataset` at the scale of the real
release (20,000 images), from its CSVs and empty placeholder files."""
from __future__ import annotations

import os.path as osp
import time

from ...datasets.synthetic_vindr import make_vindr_placeholder_layout
from ...datasets.vindr_mammo import VinDrMammoDataset
from .measure import quiet_mmengine, time_calls


def benchmark_vindr_build(out_dir: str, num_images: int = 20000,
                          repeats: int = 3,
                          split: str | None = None) -> dict:
    """Write the placeholder layout (unless already there) and time
    ``VinDrMammoDataset(data_root=...)`` (``full_init``: CSV reading,
    file-existence checks, data infos, serialisation).

    Args:
        out_dir (str): Parent folder of ``vindr-mammo/``.
        num_images (int): Images of the layout. Defaults to 20000.
        repeats (int): Builds timed. Defaults to 3.
        split (str, optional): Official split to build. Defaults to None.

    Returns:
        dict: ``root``, ``num_images``, ``write_s`` (0 if reused),
        ``build_s`` (list of seconds), ``dataset_len``.
    """
    root = osp.join(out_dir, 'vindr-mammo')
    marker = osp.join(root, f'.placeholder_{num_images}')
    write_s = 0.0
    if not osp.isfile(marker):
        t = time.perf_counter()
        make_vindr_placeholder_layout(out_dir, num_images)
        write_s = time.perf_counter() - t
        open(marker, 'w').close()
    with quiet_mmengine():  # the summary line, once per build
        times, lengths = time_calls(
            lambda: len(VinDrMammoDataset(data_root=root, split=split)),
            repeats, warmup=0)
    return dict(root=root, num_images=num_images, write_s=write_s,
                build_s=times, dataset_len=lengths[-1])
