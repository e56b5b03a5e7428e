"""TorchNMSRetinaHead: RetinaHead whose test-time NMS needs no mmcv CUDA op."""
from __future__ import annotations

from typing import Optional

from mmdet.models.dense_heads import RetinaHead
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from ..layers.nms import torch_nms_cfg


@MODELS.register_module()
class TorchNMSRetinaHead(RetinaHead):
    """mmdet's ``RetinaHead`` with test-time NMS through :func:`torch_nms`.

    Training, anchors, losses and the post-processing (``score_thr``,
    ``nms_pre``, ``min_bbox_size``, rescaling, ``max_per_img``) are
    ``RetinaHead``'s; only the kernel under mmcv's ``batched_nms`` changes:
    torchvision's NMS on CUDA, mmcv's CPU NMS on the CPU. So the model runs
    on a GPU with an mmcv built without CUDA ops (no ``nvcc``), and keeps
    the same boxes as mmcv's NMS (same greedy algorithm and IoU; checked
    against mmcv's kernel in ``tests/test_models``). ``test_cfg.nms`` must be
    plain NMS (``type='nms'``, ``offset=0``).

    Args:
        *args: ``RetinaHead``'s arguments.
        **kwargs: ``RetinaHead``'s keyword arguments.
    """

    def _bbox_post_process(self,
                           results: InstanceData,
                           cfg: ConfigDict,
                           rescale: bool = False,
                           with_nms: bool = True,
                           img_meta: Optional[dict] = None) -> InstanceData:
        """``RetinaHead``'s post-processing, NMS through :func:`torch_nms`.

        Args:
            results (InstanceData): Boxes, scores and labels of one image.
            cfg (ConfigDict): Test config (``test_cfg``).
            rescale (bool): Map boxes back by ``scale_factor``.
                Defaults to False.
            with_nms (bool): Run NMS. Defaults to True.
            img_meta (dict, optional): Image meta. Defaults to None.

        Returns:
            InstanceData: The kept detections.
        """
        if with_nms and cfg.get('nms') is not None:
            cfg = ConfigDict(dict(cfg))
            cfg['nms'] = torch_nms_cfg(cfg['nms'])
        return super()._bbox_post_process(
            results, cfg, rescale=rescale, with_nms=with_nms,
            img_meta=img_meta)
