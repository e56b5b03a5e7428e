"""StatsSplitCheckHook: refuse to train on statistics of another split."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmdet.registry import HOOKS

from ...utils.errors import InputError
from ...utils.leak_check import check_config_leaks


@HOOKS.register_module()
class StatsSplitCheckHook(Hook):
    """Stop a training run that would let held-out data in.

    In ``before_train`` it runs
    :func:`~mmdet_inbreast.utils.leak_check.check_config_leaks` on the
    run's config with ``check_files=True``: the normalisation statistics
    must be the training split's own ``<split>.stats.json`` and must have
    been computed on that split as it is now (the sha256 the JSON
    records), and the best checkpoint must not be chosen on the test split.
    Any problem raises :class:`~mmdet_inbreast.utils.errors.InputError`
    naming the files and the command that fixes it (``tools/train.py``
    prints it as one line).

    The base dataset config lists it in ``custom_hooks``; a config that sets
    its own ``custom_hooks`` must list it again (the leak-check test fails
    on any training config that does not).

    Args:
        enabled (bool): Run the check. Defaults to True; set False only for
            a run that normalises on purpose with other statistics.
    """

    priority = 'VERY_HIGH'

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def before_train(self, runner) -> None:
        """Check ``runner.cfg``; raise on the first run with problems."""
        if not self.enabled:
            runner.logger.warning('StatsSplitCheckHook: disabled; the '
                                  'statistics are not checked against the '
                                  'training split')
            return
        problems = check_config_leaks(runner.cfg, check_files=True)
        if problems:
            raise InputError(' | '.join(problems))
        runner.logger.info('StatsSplitCheckHook: statistics belong to the '
                           'training split; best checkpoint not chosen on '
                           'test')
