"""MMCVOpsCheckHook: stop before the first step on a missing mmcv kernel."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmdet.registry import HOOKS

from ..mmcv_ops_check import check_mmcv_cuda_ops, model_device


@HOOKS.register_module()
class MMCVOpsCheckHook(Hook):
    """Check, in ``before_run``, that the model calls no missing mmcv kernel.

    ``before_run`` comes before the first training, validation or test
    step. On CUDA with an mmcv built without CUDA ops, a model that would
    call one of mmcv's CUDA kernels (mmdet's ``FocalLoss``, mmcv's ``nms``
    in mmdet's heads, ``mmcv.ops`` layers) stops with an ``InputError``
    naming the config field to change (see
    :func:`~mmdet_inbreast.engine.mmcv_ops_check.check_mmcv_cuda_ops`).
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        """Check ``runner.model`` on its device and log the result."""
        device = model_device(runner.model)
        check_mmcv_cuda_ops(runner.model, device)
        runner.logger.info(f'MMCVOpsCheckHook: no missing mmcv kernel for a '
                           f'model on {device}')
