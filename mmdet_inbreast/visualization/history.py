"""Training histories (loss, AP50, CPM per epoch) from mmengine's logs.

mmengine's ``LocalVisBackend`` appends one JSON object per line to
``<work_dir>/<timestamp>/vis_data/scalars.json`` (and an identical
``<timestamp>.json`` beside it). With epoch-based training (mmdet's
default) the lines are of two kinds:

- training, every ``LoggerHook`` interval: ``lr``, ``loss``, ``loss_cls``,
  ``loss_bbox``, ``time``, ..., ``epoch``, ``iter`` (global) and ``step``
  (= ``iter``);
- validation, once per validation: the metrics (``coco/bbox_mAP_50``,
  ``froc/CPM``, ...), ``time``, ``data_time`` and ``step`` (= the epoch).

With ``log_processor=dict(log_with_hierarchy=True)`` the keys carry a
``train/`` or ``val/`` prefix, which is removed here. A resumed run writes a
new ``<timestamp>`` directory; the directories are read in name (time)
order and, for an epoch logged in more than one, the latest wins.
matplotlib is imported inside the plotting function (backend Agg).
"""
import glob
import json
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, NamedTuple, Optional, Sequence

from ..utils.errors import InputError

DEFAULT_METRICS = ('coco/bbox_mAP_50', 'froc/CPM')
DEFAULT_LOSSES = ('loss', )
#: Short names for subplot titles.
METRIC_NAMES = {'coco/bbox_mAP_50': 'AP50', 'froc/CPM': 'CPM',
                'coco/bbox_mAP': 'mAP'}


class History(NamedTuple):
    """Per-epoch values of one run.

    Attributes:
        losses (dict[str, dict[int, float]]): Loss name -> epoch -> mean of
            the training lines of that epoch.
        metrics (dict[str, dict[int, float]]): Metric name -> epoch -> value
            of the validation at the end of that epoch.
    """

    losses: Dict[str, Dict[int, float]]
    metrics: Dict[str, Dict[int, float]]


def find_scalar_files(work_dir: str) -> List[str]:
    """The ``scalars.json`` files of a work dir, oldest first.

    Args:
        work_dir (str): A work dir (holding ``<timestamp>/vis_data/``), one
            ``<timestamp>`` directory, a ``vis_data`` directory or a scalars
            file itself.

    Returns:
        list[str]: Paths, in timestamp order. Where ``scalars.json`` is
        missing, ``vis_data/<timestamp>.json`` stands in.
    """
    if osp.isfile(work_dir):
        return [work_dir]
    if not osp.isdir(work_dir):
        raise InputError(f'{work_dir}: no such file or directory')
    for pattern in ('scalars.json', osp.join('vis_data', 'scalars.json')):
        if osp.isfile(osp.join(work_dir, pattern)):
            return [osp.join(work_dir, pattern)]
    files = []
    for vis_data in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data'))):
        timestamp = osp.basename(osp.dirname(vis_data))
        for name in ('scalars.json', f'{timestamp}.json'):
            if osp.isfile(osp.join(vis_data, name)):
                files.append(osp.join(vis_data, name))
                break
    if not files:
        raise InputError(
            f'{work_dir}: no <timestamp>/vis_data/scalars.json in it; is '
            f'this an mmengine work dir (visualizer with LocalVisBackend)?')
    return files


def _read_lines(path: str) -> List[dict]:
    """One dict per non-empty line, prefixes ``train/``/``val/`` removed."""
    records = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f'{path}:{number}: not a JSON object '
                                 f'({e.msg}): {line[:80]!r}') from None
            records.append({
                k.split('/', 1)[1] if k.startswith(('train/', 'val/')) else k:
                v
                for k, v in record.items()
            })
    return records


def load_history(work_dir: str) -> History:
    """Per-epoch losses and validation metrics of one run.

    Training lines are those with an ``iter`` key; their losses are averaged
    per ``epoch``. Other lines are validation lines at epoch ``step``.

    Args:
        work_dir (str): See :func:`find_scalar_files`.

    Returns:
        History: Every numeric key of the training lines whose name starts
        with ``loss`` and every numeric key of the validation lines except
        ``step``, ``time`` and ``data_time``.
    """
    losses: Dict[str, Dict[int, float]] = defaultdict(dict)
    metrics: Dict[str, Dict[int, float]] = defaultdict(dict)
    for path in find_scalar_files(work_dir):
        sums: Dict[str, Dict[int, List[float]]] = defaultdict(
            lambda: defaultdict(list))
        for record in _read_lines(path):
            if 'iter' in record:
                if 'epoch' not in record:
                    raise InputError(
                        f'{path}: training line without "epoch" '
                        f'(iteration-based training?); only epoch-based '
                        f'logs are supported: {record}')
                for key, value in record.items():
                    if key.startswith('loss') and isinstance(
                            value, (int, float)):
                        sums[key][int(record['epoch'])].append(float(value))
            else:
                epoch = int(record['step'])
                for key, value in record.items():
                    if key not in ('step', 'time', 'data_time') and \
                            isinstance(value, (int, float)):
                        metrics[key][epoch] = float(value)  # latest wins
        # Epochs of a later file (a resumed run) replace earlier ones.
        for key, per_epoch in sums.items():
            for epoch, values in per_epoch.items():
                losses[key][epoch] = sum(values) / len(values)
    return History(losses=dict(losses), metrics=dict(metrics))


def history_panels(histories: Dict[str, History],
                   metrics: Sequence[str] = DEFAULT_METRICS,
                   losses: Sequence[str] = DEFAULT_LOSSES) -> List[tuple]:
    """The subplots :func:`plot_histories` draws, in order.

    Returns:
        list[tuple[str, str]]: ``('losses', name)`` then ``('metrics',
        name)`` for each name that at least one run has.
    """
    panels = [('losses', k) for k in losses
              if any(k in h.losses for h in histories.values())]
    panels += [('metrics', k) for k in metrics
               if any(k in h.metrics for h in histories.values())]
    return panels


def plot_histories(histories: Dict[str, History],
                   out_prefix: str,
                   metrics: Sequence[str] = DEFAULT_METRICS,
                   losses: Sequence[str] = DEFAULT_LOSSES,
                   title: Optional[str] = None,
                   dpi: int = 150) -> List[str]:
    """One figure, one subplot per loss and metric, one line per run.

    Subplots are made only for the names that at least one run has.

    Args:
        histories (dict[str, History]): Legend label -> history, in legend
            order.
        out_prefix (str): Output path without suffix; ``.png`` and ``.svg``
            are written.
        metrics (Sequence[str]): Validation keys to draw. Defaults to
            ``('coco/bbox_mAP_50', 'froc/CPM')``.
        losses (Sequence[str]): Training keys to draw. Defaults to
            ``('loss',)``.
        title (str, optional): Figure title. Defaults to None.
        dpi (int): Resolution of the PNG. Defaults to 150.

    Returns:
        list[str]: The PNG and SVG paths.
    """
    panels = history_panels(histories, metrics, losses)
    if not panels:
        raise ValueError(f'none of {list(losses) + list(metrics)} is in the '
                         f'logs of {list(histories)}')
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for ax, (kind, key) in zip(axes[0], panels):
        for label, history in histories.items():
            series = getattr(history, kind).get(key)
            if not series:
                continue
            epochs = sorted(series)
            ax.plot(epochs, [series[e] for e in epochs],
                    marker='.' if kind == 'metrics' else None, label=label)
        name = METRIC_NAMES.get(key, key)
        ax.set_title(name if name == key else f'{name} ({key})',
                     fontsize='medium')
        ax.set_xlabel('epoch')
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize='small')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    for suffix in ('.png', '.svg'):
        if out_prefix.endswith(suffix):
            out_prefix = out_prefix[:-len(suffix)]
    if osp.dirname(out_prefix):
        os.makedirs(osp.dirname(out_prefix), exist_ok=True)
    paths = [f'{out_prefix}.png', f'{out_prefix}.svg']
    fig.savefig(paths[0], dpi=dpi)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def history_table(histories: Dict[str, History],
                  metrics: Sequence[str] = DEFAULT_METRICS) -> List[str]:
    """Lines of a text table: epochs, last loss and best value (epoch) of
    each metric per run."""
    head = ['run', 'epochs', 'last loss'] + [f'best {m}' for m in metrics]
    rows = [head]
    for label, h in histories.items():
        loss = h.losses.get('loss', {})
        row = [label, str(max(loss) if loss else '-'),
               f'{loss[max(loss)]:.4f}' if loss else '-']
        for m in metrics:
            series = h.metrics.get(m)
            if series:
                best = max(series, key=lambda e: series[e])
                row.append(f'{series[best]:.4f} (epoch {best})')
            else:
                row.append('-')
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return ['  '.join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
