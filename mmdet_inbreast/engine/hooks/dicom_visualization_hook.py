"""Validation and test pictures of DICOM mammograms (``--show-dir``)."""
from __future__ import annotations

import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmdet.engine.hooks import DetVisualizationHook
from mmdet.registry import HOOKS
from mmdet.structures import DetDataSample
from mmengine.runner import Runner
from mmengine.utils import mkdir_or_exist


@HOOKS.register_module()
class DicomVisualizationHook(DetVisualizationHook):
    """mmdet's ``DetVisualizationHook`` for DICOM inputs: the picture of
    each image is the project's (windowed mammogram, ground truth red,
    predictions with score >= ``score_thr`` blue with their score), written
    to ``<work_dir>/<timestamp>/<test_out_dir>/<file_name>.png`` in testing
    and sent to the visualizer's backends (e.g. TensorBoard) every
    ``interval`` validation iterations.

    mmdet's hook decodes ``img_path`` with ``mmcv.imfrombytes``, which
    fails on a DICOM file; this one reads the pixels with
    :func:`~mmdet_inbreast.datasets.transforms.loading.read_dicom_pixels`
    (the loader of ``LoadDicomImage``, full stored range) and windows them
    for display with
    :func:`~mmdet_inbreast.visualization.mammogram.window_for_display`.

    Frames: predictions come rescaled to the original image (mmdet's
    ``rescale=True``). Ground truth is taken from the ``instances`` meta key
    (original pixels; the test pipelines of this project pack it), else from
    ``gt_instances`` divided by ``scale_factor``.

    ``tools/test.py --show-dir DIR`` sets ``draw=True`` and
    ``test_out_dir=DIR`` as for mmdet's hook; ``--show`` opens a window.

    Args:
        draw (bool): Draw at all. Defaults to False.
        interval (int): Validation iterations between pictures. Defaults
            to 50.
        score_thr (float): Predictions drawn. Defaults to 0.3.
        show (bool): Show in a window instead of writing. Defaults to False.
        wait_time (float): Seconds a shown picture stays. Defaults to 0.
        test_out_dir (str, optional): Folder of the test pictures, relative
            to ``<work_dir>/<timestamp>``. Defaults to None (backends only).
        max_size (int, optional): Longest side of a picture in pixels;
            None keeps the full size. Defaults to 2048.
        backend_args (dict, optional): Unused (the DICOM is read from the
            local path); kept for mmdet's signature. Defaults to None.
    """

    def __init__(self,
                 draw: bool = False,
                 interval: int = 50,
                 score_thr: float = 0.3,
                 show: bool = False,
                 wait_time: float = 0.,
                 test_out_dir: Optional[str] = None,
                 max_size: Optional[int] = 2048,
                 backend_args: Optional[dict] = None):
        super().__init__(draw=draw, interval=interval, score_thr=score_thr,
                         show=show, wait_time=wait_time,
                         test_out_dir=test_out_dir, backend_args=backend_args)
        self.max_size = max_size
        self._out_dir: Optional[str] = None

    def render(self, data_sample: DetDataSample) -> np.ndarray:
        """The picture of one data sample.

        Args:
            data_sample (DetDataSample): With ``img_path``, predictions and
                (optionally) ground truth.

        Returns:
            np.ndarray: (h, w, 3) RGB ``uint8``.
        """
        from ...datasets.transforms.loading import read_dicom_pixels
        from ...visualization.mammogram import render_mammogram
        pixels, _ = read_dicom_pixels(data_sample.img_path)
        pred_bboxes = pred_scores = None
        if 'pred_instances' in data_sample:
            pred = data_sample.pred_instances
            keep = pred.scores >= self.score_thr
            pred_bboxes = pred.bboxes[keep].detach().cpu().numpy()
            pred_scores = pred.scores[keep].detach().cpu().numpy()
        return render_mammogram(pixels, self._gt_bboxes(data_sample),
                                pred_bboxes, pred_scores,
                                max_size=self.max_size)

    @staticmethod
    def _gt_bboxes(data_sample: DetDataSample) -> np.ndarray:
        """(G, 4) ground-truth boxes in original-image pixels (ignored
        boxes included: they are drawn)."""
        instances = data_sample.metainfo.get('instances')
        if instances is not None:
            return np.asarray([i['bbox'] for i in instances],
                              dtype=np.float64).reshape(-1, 4)
        if 'gt_instances' not in data_sample:
            return np.zeros((0, 4))
        boxes = data_sample.gt_instances.bboxes
        boxes = getattr(boxes, 'tensor', boxes)
        boxes = np.asarray(boxes.detach().cpu().numpy(),
                           dtype=np.float64).reshape(-1, 4)
        sx, sy = data_sample.metainfo.get('scale_factor', (1.0, 1.0))
        return boxes / np.array([sx, sy, sx, sy])

    @staticmethod
    def picture_name(data_sample: DetDataSample) -> str:
        """``<file_name>.png`` (the release key), else the DICOM's name with
        ``.png`` appended (``a.dcm`` -> ``a.dcm.png``: unique per file)."""
        name = data_sample.metainfo.get('file_name')
        if not name:
            name = osp.basename(data_sample.img_path)
        return f'{name}.png'

    def _emit(self, name: str, img: np.ndarray, step: int,
              out_file: Optional[str] = None) -> None:
        if self.show:
            self._visualizer.show(img, win_name=name,
                                  wait_time=self.wait_time)
        elif out_file is not None:
            from ...visualization.mammogram import save_rgb
            save_rgb(out_file, img)
        else:
            self._visualizer.add_image(name, img, step=step)

    def after_val_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                       outputs: Sequence[DetDataSample]) -> None:
        """Every ``interval`` iterations, the first image of the batch to
        the visualizer's backends as ``val_img``."""
        if self.draw is False:
            return
        total_curr_iter = runner.iter + batch_idx
        if total_curr_iter % self.interval == 0:
            self._emit('val_img', self.render(outputs[0]), total_curr_iter)

    def after_test_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence[DetDataSample]) -> None:
        """Every image: ``<file_name>.png`` in the test picture folder
        (or to the backends as ``test_img`` without one)."""
        if self.draw is False:
            return
        if self.test_out_dir is not None and self._out_dir is None:
            self._out_dir = osp.join(runner.work_dir, runner.timestamp,
                                     self.test_out_dir)
            mkdir_or_exist(self._out_dir)
            runner.logger.info(
                f'DicomVisualizationHook: pictures -> {self._out_dir}')
        for data_sample in outputs:
            self._test_index += 1
            out_file = None if self._out_dir is None else osp.join(
                self._out_dir, self.picture_name(data_sample))
            self._emit('test_img', self.render(data_sample),
                       self._test_index, out_file)
