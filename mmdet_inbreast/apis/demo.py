"""The demo: the two-phase comparison of the seed, as a cross-validated
study on a synthetic release, end to end on a CPU.

Steps (each prints progress; finished steps are skipped when re-run):

1. write a synthetic release in the real layout (1/8 scale, 30 patients,
   masses of lowered contrast: :data:`DEMO_RELEASE`);
2. write its single patient split ``splits/{train,val,test}.txt`` and the
   training split's statistics (for training the demo configs by hand);
3. run the study ``configs/studies/demo_two_phase.py``: 3 folds by patient,
   two-phase training (patches, then full images with the backbone frozen)
   against the resized baseline, each tested once on its fold's test split;
4. the report: ``study/results.md`` and ``results.csv`` (per-fold means
   with t-intervals, pooled out-of-fold metrics with patient-bootstrap
   intervals, the paired comparison), ``froc.png`` and ``history.png``.

With ``study='vindr_pretrain'`` (``tools/demo.py --study vindr_pretrain``)
step 3 first writes a synthetic VinDr-Mammo release
(``data/vindr-mammo``: :data:`DEMO_VINDR_RELEASE`, the same mass contrast),
its study-grouped splits and statistics, and trains the demo VinDr phase 1
(``configs/demo/retina_demo_patch_vindr.py``, into
``work_dirs/retina_demo_patch_vindr``), then runs
``configs/studies/demo_vindr_pretrain.py`` (into ``study_vindr_pretrain/``):
two-phase runs from scratch against the same runs whose phase 1 starts from
that model.
"""
from __future__ import annotations

import os
import os.path as osp
import shutil
import sys
import time
from typing import Callable

from ..datasets import scan_release
from ..datasets.splits import describe_split
from ..datasets.synthetic import make_synthetic_release
from ..study.folds import write_splits_and_stats  # noqa: F401  (re-export)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_STUDY = osp.join(REPO, 'configs', 'studies', 'demo_two_phase.py')
#: The demo's studies by name (``tools/demo.py --study``).
DEMO_STUDIES = {
    'two_phase': DEMO_STUDY,
    'vindr_pretrain': osp.join(REPO, 'configs', 'studies',
                               'demo_vindr_pretrain.py'),
}
#: The demo VinDr-Mammo phase 1 and the INbreast phase-1 config that
#: starts from it.
DEMO_VINDR_CONFIG = osp.join(REPO, 'configs', 'demo',
                             'retina_demo_patch_vindr.py')
DEMO_FROM_VINDR_CONFIG = osp.join(REPO, 'configs', 'demo',
                                  'retina_demo_patch_from_vindr.py')
#: The synthetic VinDr-Mammo release of the vindr_pretrain demo: 40
#: studies of 4 images at the INbreast demo's pixel scale.
DEMO_VINDR_RELEASE = dict(num_studies=40, scale=0.125, finding_fraction=0.4)
#: The synthetic release of the demo. At the generator's default contrast
#: (450, about twice the tissue's std) the demo model saturates (test AP50
#: 0.96, CPM 1.0 on one split); at 250 the demo study's pooled out-of-fold
#: AP50 of two-phase was 0.150, at 350 0.341, at 400 0.398 (with the best
#: checkpoint on val; see configs/studies/demo_two_phase.py for why it now
#: keeps the last).
DEMO_RELEASE = dict(num_patients=30, scale=0.125, mass_fraction=0.4,
                    contrast=400.0)


def prepare_release(out_dir: str, num_patients: int, scale: float,
                    seed: int, echo: Callable[[str], None],
                    contrast: float = DEMO_RELEASE['contrast']) -> str:
    """Steps 1-2; returns the release folder."""
    release = osp.join(out_dir, 'data', 'INbreast Release 1.0')
    if not osp.isfile(osp.join(release, 'INbreast.csv')):
        echo(f'writing a synthetic release ({num_patients} patients, '
             f'scale {scale:g}, mass contrast {contrast:g}) to {release}')
        make_synthetic_release(
            osp.join(out_dir, 'data'), num_patients=num_patients,
            scale=scale, seed=seed,
            mass_fraction=DEMO_RELEASE['mass_fraction'], contrast=contrast)
    parts = write_splits_and_stats(release, seed=seed)
    records, _ = scan_release(release)
    for name, keys in zip(('train', 'val', 'test'), parts):
        d = describe_split(records, keys)
        echo(f'  splits/{name}.txt: {d["images"]:>3} images, '
             f'{d["patients"]:>2} patients, {d["masses"]:>2} masses')
    return release


def pretrain_vindr(out_dir: str, seed: int, contrast: float,
                   echo: Callable[[str], None]) -> str:
    """Write the demo's synthetic VinDr-Mammo release with its splits and
    statistics, and train the demo VinDr phase 1 on it (resumed or skipped
    when re-run).

    Args:
        out_dir (str): The demo folder (``data/vindr-mammo``,
            ``work_dirs/retina_demo_patch_vindr``).
        seed (int): Release and split seed.
        contrast (float): Peak brightness of the synthetic masses.
        echo (callable): Progress output.

    Returns:
        str: The work dir of the VinDr phase 1 (its ``last_checkpoint``
        names the model).

    Raises:
        RuntimeError: The training failed (the message names its log).
    """
    from ..datasets.synthetic_vindr import make_synthetic_vindr
    from ..datasets.vindr_release.splits import (
        is_vindr_layout, write_vindr_splits_and_stats)
    from .sweep import run_logged
    root = osp.join(out_dir, 'data', 'vindr-mammo')
    work_dir = osp.join(out_dir, 'work_dirs', 'retina_demo_patch_vindr')
    done = osp.join(work_dir, 'pretrain.done')
    if osp.isfile(done):
        echo(f'VinDr phase 1: done, {work_dir}')
        return work_dir
    if not is_vindr_layout(root):
        echo(f'writing a synthetic VinDr-Mammo release '
             f'({DEMO_VINDR_RELEASE["num_studies"]} studies, mass contrast '
             f'{contrast:g}) to {root}')
        make_synthetic_vindr(osp.join(out_dir, 'data'), seed=seed,
                             contrast=contrast, **DEMO_VINDR_RELEASE)
    write_vindr_splits_and_stats(root, seed=seed)
    cmd = [sys.executable, '-m', 'mmdet_inbreast.apis.train',
           DEMO_VINDR_CONFIG, '--work-dir', work_dir, '--data-root', root]
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        cmd.append('--resume')
    log = osp.join(work_dir, 'run.log')
    echo(f'VinDr phase 1: {osp.relpath(DEMO_VINDR_CONFIG, REPO)}, log {log}')
    rc = run_logged(cmd, log, lambda m: echo(f'  vindr: {m}'))
    if rc != 0:
        raise RuntimeError(f'VinDr phase 1 failed (exit {rc}); see {log}')
    open(done, 'w').close()
    return work_dir


def run_demo(out_dir: str = 'demo_output',
             num_patients: int = DEMO_RELEASE['num_patients'],
             scale: float = DEMO_RELEASE['scale'],
             seed: int = 0,
             contrast: float = DEMO_RELEASE['contrast'],
             study: str = 'two_phase',
             echo: Callable[[str], None] = print) -> dict:
    """Run the whole demo (see the module docstring).

    Args:
        out_dir (str): Everything goes here (``data/``, ``study/``).
        num_patients (int): Patients of the synthetic release.
        scale (float): Image scale of the synthetic release.
        seed (int): Seed of the release and its single split (the study
            file holds the folds' seed).
        contrast (float): Peak brightness of the synthetic masses.
        study (str): A name of :data:`DEMO_STUDIES` or a study file.
            Defaults to ``'two_phase'``.
        echo (callable): Progress output.

    Returns:
        dict: :func:`~mmdet_inbreast.study.run_study`'s result.
    """
    from ..study import load_study, run_study
    start = time.time()
    out_dir = osp.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)

    def say(msg: str) -> None:
        echo(f'[demo {time.strftime("%H:%M:%S")} +{time.time() - start:5.0f}s]'
             f' {msg}')

    release = prepare_release(out_dir, num_patients, scale, seed, say,
                              contrast)
    study_file = DEMO_STUDIES.get(study, study)
    spec = load_study(study_file)
    work_root = osp.join(out_dir, 'study')
    if study == 'vindr_pretrain':
        vindr = pretrain_vindr(out_dir, seed, contrast, say)
        work_root = osp.join(out_dir, 'study_vindr_pretrain')
        for variant in spec.variants:  # phase 1 from this demo's model
            first = variant.stages[0]
            if osp.samefile(first.config, DEMO_FROM_VINDR_CONFIG):
                first.cfg_options.append(f'load_from=workdir://{vindr}')
    say(f'study {osp.relpath(study_file, REPO)}: {spec.folds} folds x '
        f'{len(spec.variants)} variants, work root {work_root}')
    out = run_study(spec, release, work_root, resume=True, echo=say)
    elapsed = time.time() - start
    say(f'done in {elapsed / 60:.1f} min on {os.cpu_count()} CPU cores: '
        f'{out.get("paths", {}).get("md")}')
    with open(osp.join(work_root, 'results.md'), 'a') as f:
        f.write(f'Whole demo: {elapsed / 60:.1f} min on {os.cpu_count()} '
                'CPU cores.\n')
    shutil.copy(osp.join(work_root, 'results.md'),
                osp.join(out_dir, osp.basename(work_root) + '.md'
                         if study == 'vindr_pretrain' else 'results.md'))
    return out
