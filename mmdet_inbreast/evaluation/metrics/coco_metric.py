"""INbreastCocoMetric: mmdet's CocoMetric that reports 0, not nothing, when
no box is predicted."""
from __future__ import annotations

from mmdet.evaluation.metrics import CocoMetric
from mmdet.registry import METRICS

_BBOX_KEYS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')


@METRICS.register_module()
class INbreastCocoMetric(CocoMetric):
    """:class:`mmdet.evaluation.CocoMetric` (bbox AP, AP50 from
    pycocotools), with one difference: when the model predicts no box at all
    on the whole split, as an untrained detector does in its first epochs,
    mmdet's metric logs a warning and returns no key, and
    ``CheckpointHook(save_best='coco/bbox_mAP_50')`` then stops training
    with a KeyError. Here every ``bbox_*`` key is reported as 0.0 instead,
    which is its correct value.

    Images without masses are kept in the evaluation (they have no ground
    truth; their predictions are false positives).

    Args:
        **kwargs: As :class:`mmdet.evaluation.CocoMetric`; ``ann_file=None``
            builds the ground truth from the data samples' ``instances``.
    """

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Compute the COCO metrics; 0.0 for each when nothing was
        predicted.

        Args:
            results (list): What :meth:`process` collected.

        Returns:
            dict[str, float]: ``bbox_mAP``, ``bbox_mAP_50``, ... (without
            the prefix; the evaluator adds ``coco/``).
        """
        metrics = ['bbox'] if 'bbox' in self.metrics else []
        if metrics and not self.format_only and not any(
                len(pred['bboxes']) for _, pred in results):
            return {f'bbox_{k}': 0.0 for k in _BBOX_KEYS}
        return super().compute_metrics(results)
