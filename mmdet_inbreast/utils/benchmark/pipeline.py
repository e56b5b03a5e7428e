"""Time the training data pipeline per sample against the DICOM decoding
floor.

Four ways to turn one mammogram of the release into a packed training
sample (``inputs`` (3, 1024, 1024) float32 plus boxes), each timed per
sample:

- ``floor``: ``pydicom.dcmread(path).pixel_array`` alone: what any DICOM
  pipeline pays; the reference of the ratios.
- ``project``: the project's pipeline, built with mmengine's ``Compose``
  from the registry: ``LoadDicomImage`` (uint16, no float copy),
  ``LoadAnnotations``, ``MassPreservingRandomCrop``, then
  ``ZeroIgnoringNormalize`` (float32 and the 3-channel copy on the crop
  only) and ``PackDetInputs``.
- ``naive``: the same steps in the order a first attempt takes: float32
  conversion, normalisation and 3-channel copy of the full image before
  the crop. (Only its cost is of interest: the crop's tissue test on
  negatives expects raw pixels, so its crops differ.)
- ``cached``: the project's pipeline reading ``<cache_dir>/<key>.npy``
  memory maps of the decoded uint16 images instead of the DICOMs (written
  by :func:`write_cache`).

Each call is timed on its own, after one warm-up pass, with the files in
the page cache; a pipeline's time per sample is the mean over images of
the median over repeats (see :func:`time_pipelines`).
"""
from __future__ import annotations

import copy
import os
import os.path as osp
import statistics
import tempfile
import time
from typing import Callable, Optional, Sequence

import numpy as np

#: Normalisation used for timing (the seed thesis' training statistics;
#: the values do not change the cost).
BENCH_MEAN, BENCH_STD = 1449.49, 221.67

PIPELINE_NAMES = ('floor', 'project', 'naive', 'cached')


def pipeline_configs(crop_size: int = 1024,
                     cache_dir: Optional[str] = None,
                     mean: float = BENCH_MEAN,
                     std: float = BENCH_STD) -> dict[str, list[dict]]:
    """The configs of the timed pipelines (``floor`` has none).

    Args:
        crop_size (int): Side of the square crop (pixels). Defaults to 1024.
        cache_dir (str, optional): Folder of ``<key>.npy`` files for the
            ``cached`` pipeline; left out when None.
        mean, std (float): Normalisation (raw units).

    Returns:
        dict[str, list[dict]]: Name -> transform configs.
    """
    crop = dict(type='MassPreservingRandomCrop', crop_size=(crop_size,
                                                            crop_size))
    norm = dict(type='ZeroIgnoringNormalize', mean=mean, std=std)
    pack = dict(type='PackDetInputs')
    ann = dict(type='LoadAnnotations', with_bbox=True)
    configs = dict(
        project=[dict(type='LoadDicomImage'), ann, crop, norm, pack],
        naive=[dict(type='LoadDicomImage', to_float32=True), ann, norm, crop,
               pack])
    if cache_dir is not None:
        configs['cached'] = [
            dict(type='LoadDicomImage', cache_dir=cache_dir), ann, crop, norm,
            pack
        ]
    return configs


def build_pipelines(configs: dict[str, list[dict]]) -> dict[str, Callable]:
    """Build each config with mmengine's ``Compose`` from mmdet's registry
    (``default_scope='mmdet'``; importing :mod:`mmdet_inbreast` registers
    our transforms)."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    import mmdet_inbreast  # noqa: F401  (registration)
    init_default_scope('mmdet')
    return {name: Compose(cfg) for name, cfg in configs.items()}


def write_cache(data_infos: Sequence[dict], cache_dir: str) -> None:
    """Write ``<cache_dir>/<file_name>.npy``: the decoded (H, W) uint16
    pixels of each image (what ``LoadDicomImage(cache_dir=...)`` maps)."""
    from mmdet_inbreast.datasets.transforms.loading import read_dicom_pixels
    os.makedirs(cache_dir, exist_ok=True)
    for info in data_infos:
        pixels, _ = read_dicom_pixels(info['img_path'])
        np.save(osp.join(cache_dir, f"{info['file_name']}.npy"), pixels)


def _floor(info: dict):
    import pydicom
    return pydicom.dcmread(info['img_path']).pixel_array


def time_pipelines(data_infos: Sequence[dict],
                   pipelines: dict[str, Callable],
                   repeats: int = 5,
                   seed: int = 0,
                   progress: Optional[Callable[[str], None]] = None
                   ) -> dict[str, dict]:
    """Time per sample of each pipeline, plus the floor.

    Every (image, pipeline) call is timed on its own. Within a repeat the
    pipelines take turns on each image, in an order that rotates from one
    repeat to the next, so that none always follows the memory-hungry naive
    one; the first pass only warms up (page cache, allocator, lazy imports).
    A pipeline's time per sample is the mean over images of the median over
    repeats of that image's time (so one slow call does not count, and
    negatives and positives are weighted as in the data).

    Args:
        data_infos (Sequence[dict]): Data infos of ``INbreastDataset``
            (copied before each call; pipelines modify them).
        pipelines (dict[str, Callable]): Name -> callable on a data info.
        repeats (int): Timed passes. Defaults to 5.
        seed (int): Seed of NumPy's global generator (the crop positions).
        progress (callable, optional): Called with a line per repeat.

    Returns:
        dict[str, dict]: Name -> ``ms`` (per-sample milliseconds, as
        above), ``per_image_ms`` (the per-image medians) and, for the
        pipelines, ``shape`` of the packed ``inputs`` of the last sample.
    """
    if repeats < 1:
        raise ValueError(f'repeats must be >= 1, got {repeats}')
    if not data_infos:
        raise ValueError('no images to time')
    np.random.seed(seed)
    runners = dict(floor=_floor, **pipelines)
    names = list(runners)
    times = {n: [[] for _ in data_infos] for n in names}
    shapes = {}
    for rep in range(repeats + 1):  # pass 0 warms up
        order = names[rep % len(names):] + names[:rep % len(names)]
        for i, info in enumerate(data_infos):
            for name in order:
                sample = copy.deepcopy(info)
                start = time.perf_counter()
                out = runners[name](sample)
                elapsed = time.perf_counter() - start
                if out is None:
                    raise RuntimeError(f'pipeline {name!r} returned None on '
                                       f"{info['img_path']}")
                if name != 'floor':
                    shapes[name] = tuple(out['inputs'].shape)
                if rep:
                    times[name][i].append(1000 * elapsed)
                del out, sample
        if progress is not None:
            progress(f'repeat {rep}/{repeats}' + (' (warm-up)' if not rep
                                                  else ''))
    results = {}
    for name in names:
        per_image = [statistics.median(t) for t in times[name]]
        results[name] = dict(ms=float(np.mean(per_image)),
                             per_image_ms=per_image)
        if name in shapes:
            results[name]['shape'] = shapes[name]
    return results


def format_table(results: dict[str, dict], header: str = '') -> str:
    """A table of ms per sample and the ratio to the floor."""
    floor = results['floor']['ms']
    lines = [header] if header else []
    lines.append(f'{"pipeline":<10}{"ms/sample":>12}{"x floor":>10}  inputs')
    for name in PIPELINE_NAMES:
        if name not in results:
            continue
        r = results[name]
        shape = 'x'.join(str(s) for s in r.get('shape', ())) or '-'
        lines.append(f'{name:<10}{r["ms"]:>12.1f}{r["ms"] / floor:>10.2f}'
                     f'  {shape}')
    ratios = ', '.join(f'{letter}/a = {results[n]["ms"] / floor:.2f}'
                       for letter, n in (('b', 'project'), ('c', 'naive'),
                                         ('d', 'cached')) if n in results)
    lines.append(f'a = floor, b = project, c = naive, d = cached: {ratios}')
    return '\n'.join(lines)


def run_benchmark(data_root: Optional[str] = None,
                  work_dir: Optional[str] = None,
                  scale: float = 1.0,
                  num_images: int = 8,
                  repeats: int = 5,
                  crop_size: int = 1024,
                  seed: int = 0,
                  progress: Optional[Callable[[str], None]] = None) -> dict:
    """Write (or read) a release, cache it, time the four pipelines.

    Args:
        data_root (str, optional): An existing release folder; by default a
            synthetic one is written to ``work_dir`` with
            ``ceil(num_images / 2)`` patients at ``scale``.
        work_dir (str, optional): Where the synthetic release and the cache
            go; a temporary folder (removed afterwards) if None.
        scale (float): Synthetic image scale; 1.0 is the real 3328 x 4084 /
            2560 x 3328 16-bit size. Defaults to 1.0.
        num_images (int): Images timed (the first ones of the release).
            Defaults to 8.
        repeats (int): Timed passes. Defaults to 5.
        crop_size (int): Crop side. Defaults to 1024.
        seed (int): Seed of the synthetic release and the crops.
        progress (callable, optional): Called with progress lines.

    Returns:
        dict: ``results`` (see :func:`time_pipelines`), ``images`` (count),
        ``sizes`` (distinct (H, W)), ``dtype`` of the decoded images,
        ``data_root``, ``scale``, ``repeats``, ``crop_size``.
    """
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix='bench_inbreast_') as tmp:
            return run_benchmark(data_root, tmp, scale, num_images, repeats,
                                 crop_size, seed, progress)
    say = progress or (lambda s: None)
    if data_root is None:
        from mmdet_inbreast.datasets.synthetic import make_synthetic_release
        say(f'writing a synthetic release at scale {scale:g}')
        make_synthetic_release(work_dir, num_patients=(num_images + 1) // 2,
                               scale=scale, seed=seed)
        data_root = osp.join(work_dir, 'INbreast Release 1.0')
    from mmdet_inbreast.datasets.inbreast import INbreastDataset
    dataset = INbreastDataset(data_root=data_root, pipeline=[],
                              test_mode=True)
    infos = [dataset.get_data_info(i)
             for i in range(min(num_images, len(dataset)))]
    cache_dir = osp.join(work_dir, 'cache')
    say(f'caching {len(infos)} decoded images in {cache_dir}')
    write_cache(infos, cache_dir)
    pipelines = build_pipelines(pipeline_configs(crop_size, cache_dir))
    results = time_pipelines(infos, pipelines, repeats, seed, progress)
    first = np.load(osp.join(cache_dir, f"{infos[0]['file_name']}.npy"),
                    mmap_mode='r')
    return dict(results=results, images=len(infos),
                sizes=sorted({(i['height'], i['width']) for i in infos}),
                dtype=str(first.dtype), data_root=data_root, scale=scale,
                repeats=repeats, crop_size=crop_size)
