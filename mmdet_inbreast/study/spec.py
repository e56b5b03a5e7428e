"""The study file: which variants to compare, on how many folds.

A study is a small Python file (read with mmengine's ``Config``; names
starting with ``_`` are helpers and ignored), e.g.
``configs/studies/seed_two_phase.py``::

    folds = 5                 # K
    seed = 0                  # fold assignment and bootstrap seed
    stratify = 'mass'         # folds stratified by patients with masses
    val_fraction = 0.125      # val patients carved from each fold's train
    checkpoint = 'best'       # tested checkpoint: 'best' (on val) or 'last'
    bootstrap = 1000          # patient-bootstrap samples of the report
    cfg_options = []          # KEY=VALUE for every run
    baseline = 'resized'
    variants = [
        dict(name='resized', config='configs/retina_resized.py'),
        dict(name='two_phase',
             config=['configs/retina_patch.py', 'configs/retina_full.py']),
        dict(name='anchors_fitted', config='configs/retina_patch.py',
             fit_anchors=dict(num_ratios=3, num_scales=3)),
    ]

A variant's ``config`` is one config or a list of stages; each later stage
starts from the checkpoint the previous one kept (``load_from``), and only
the last stage is tested. ``cfg_options`` (a list of ``KEY=VALUE``) apply to
every stage of the variant, after the study's; ``stage_cfg_options`` (a list
of such lists, one per stage) to one stage. ``fit_anchors`` fits the
anchors of every stage to the fold's training boxes (keyword arguments of
:func:`mmdet_inbreast.anchors.optimize_anchors`). ``train_fraction`` trains
the variant on that share of each fold's training patients (by patient,
stratified by masses; its own statistics), with the same val and test
images as every other variant. Config paths are relative
to the current directory or, failing that, to the checkout holding the
study file (``configs/studies/..``).
"""
from __future__ import annotations

import os.path as osp
from dataclasses import dataclass, field
from typing import Optional

from ..utils.errors import InputError

STRATIFICATIONS = ('mass', )
CHECKPOINTS = ('best', 'last')
_KNOWN_KEYS = {'folds', 'seed', 'stratify', 'val_fraction', 'checkpoint',
               'bootstrap', 'cfg_options', 'baseline', 'variants', 'level'}
_VARIANT_KEYS = {'name', 'config', 'cfg_options', 'stage_cfg_options',
                 'fit_anchors', 'train_fraction'}


@dataclass
class Stage:
    """One training stage of a variant.

    Attributes:
        config (str): Config path (absolute).
        cfg_options (list[str]): ``KEY=VALUE`` overrides of this stage.
    """
    config: str
    cfg_options: list = field(default_factory=list)


@dataclass
class Variant:
    """A setting under comparison.

    Attributes:
        name (str): Identifier (folder and table name).
        stages (list[Stage]): Training stages; the last one is tested.
        fit_anchors (dict, optional): Arguments of the per-fold anchor fit,
            or None to keep the config's anchors.
        train_fraction (float): Share of each fold's training patients the
            variant trains on (drawn by patient, stratified by masses; val
            and test unchanged). Defaults to 1.
    """
    name: str
    stages: list
    fit_anchors: Optional[dict] = None
    train_fraction: float = 1.0


@dataclass
class StudySpec:
    """A parsed study file (see the module docstring)."""
    path: str
    name: str
    variants: list
    baseline: str
    folds: int = 5
    seed: int = 0
    stratify: str = 'mass'
    val_fraction: float = 0.125
    checkpoint: str = 'best'
    bootstrap: int = 1000
    level: float = 0.95
    cfg_options: list = field(default_factory=list)

    def variant(self, name: str) -> Variant:
        """The variant called ``name``."""
        return next(v for v in self.variants if v.name == name)


def _resolve_config(path: str, study_path: str) -> str:
    candidates = [osp.abspath(path)]
    if not osp.isabs(path):
        repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(
            study_path))))
        candidates.append(osp.join(repo, path))
    for c in candidates:
        if osp.isfile(c):
            return c
    raise InputError(f'{study_path}: config {path!r} not found (looked at '
                     f'{", ".join(candidates)}); fix the path in the study')


def _options(value, where: str) -> list:
    if value is None:
        return []
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise InputError(f'{where} must be a list of KEY=VALUE strings, got '
                         f'{value!r}')
    bad = [v for v in value if '=' not in v]
    if bad:
        raise InputError(f'{where}: {bad[0]!r} is not KEY=VALUE')
    return list(value)


def load_study(path: str) -> StudySpec:
    """Read and check a study file.

    Args:
        path (str): The study file.

    Returns:
        StudySpec: The study, config paths made absolute.

    Raises:
        InputError: The file is missing or a field is wrong (the message
            names the file and the field).
    """
    if not osp.isfile(path):
        raise InputError(f'{path}: study file not found; see '
                         'configs/studies/ for examples')
    from mmengine.config import Config
    raw = Config.fromfile(path).to_dict()
    unknown = sorted(k for k in set(raw) - _KNOWN_KEYS
                     if not k.startswith('_'))
    if unknown:
        raise InputError(f'{path}: unknown field(s) {unknown}; known: '
                         f'{sorted(_KNOWN_KEYS)}')
    if not raw.get('variants'):
        raise InputError(f'{path}: no variants; add variants = [dict(name=,'
                         ' config=), ...]')
    variants, names = [], set()
    for i, v in enumerate(raw['variants']):
        where = f'{path}: variants[{i}]'
        if not isinstance(v, dict) or 'name' not in v or 'config' not in v:
            raise InputError(f'{where} needs name= and config=')
        extra = sorted(set(v) - _VARIANT_KEYS)
        if extra:
            raise InputError(f'{where}: unknown key(s) {extra}; known: '
                             f'{sorted(_VARIANT_KEYS)}')
        name = str(v['name'])
        if name in names or not name.replace('_', '').replace(
                '-', '').replace('.', '').isalnum():
            raise InputError(f'{where}: name {name!r} is repeated or not '
                             'made of letters, digits, _ - .')
        names.add(name)
        configs = v['config'] if isinstance(v['config'],
                                            (list, tuple)) else [v['config']]
        common = _options(v.get('cfg_options'), f'{where}.cfg_options')
        per_stage = v.get('stage_cfg_options') or [[] for _ in configs]
        if len(per_stage) != len(configs):
            raise InputError(f'{where}: {len(configs)} stages but '
                             f'{len(per_stage)} stage_cfg_options')
        stages = [
            Stage(_resolve_config(c, path),
                  common + _options(o, f'{where}.stage_cfg_options'))
            for c, o in zip(configs, per_stage)
        ]
        fit = v.get('fit_anchors')
        if fit is True:
            fit = {}
        if fit is not None and not isinstance(fit, dict):
            raise InputError(f'{where}: fit_anchors must be True or a dict '
                             f'of optimize_anchors arguments, got {fit!r}')
        fraction = float(v.get('train_fraction', 1.0))
        if not 0 < fraction <= 1:
            raise InputError(f'{where}: train_fraction = {fraction}; it must '
                             'be in (0, 1]')
        variants.append(Variant(name, stages, fit, fraction))
    baseline = raw.get('baseline', variants[0].name)
    if baseline not in names:
        raise InputError(f'{path}: baseline {baseline!r} is not a variant '
                         f'({sorted(names)})')
    spec = StudySpec(
        path=osp.abspath(path),
        name=osp.splitext(osp.basename(path))[0],
        variants=variants,
        baseline=baseline,
        folds=int(raw.get('folds', 5)),
        seed=int(raw.get('seed', 0)),
        stratify=raw.get('stratify', 'mass'),
        val_fraction=float(raw.get('val_fraction', 0.125)),
        checkpoint=raw.get('checkpoint', 'best'),
        bootstrap=int(raw.get('bootstrap', 1000)),
        level=float(raw.get('level', 0.95)),
        cfg_options=_options(raw.get('cfg_options'), f'{path}: cfg_options'))
    if spec.folds < 2:
        raise InputError(f'{path}: folds = {spec.folds}; a study needs at '
                         'least 2')
    if spec.stratify not in STRATIFICATIONS:
        raise InputError(f'{path}: stratify = {spec.stratify!r}; supported: '
                         f'{STRATIFICATIONS}')
    if spec.checkpoint not in CHECKPOINTS:
        raise InputError(f'{path}: checkpoint = {spec.checkpoint!r}; use '
                         f'one of {CHECKPOINTS}')
    if not 0 < spec.val_fraction < 1:
        raise InputError(f'{path}: val_fraction = {spec.val_fraction}; it '
                         'must be in (0, 1)')
    return spec
