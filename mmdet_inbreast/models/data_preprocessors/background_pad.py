"""BackgroundPadDetDataPreprocessor: pad batches with the background value."""
from __future__ import annotations

import math
from typing import Optional

from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.registry import MODELS


@MODELS.register_module()
class BackgroundPadDetDataPreprocessor(DetDataPreprocessor):
    """:class:`DetDataPreprocessor` that pads with the normalised background.

    mmdet's preprocessor pads the batch with a constant (0 by default) after
    normalising. When the pipeline already normalised with
    :class:`ZeroIgnoringNormalize`, a raw black pixel became
    ``-mean / std`` (about -6.5 for INbreast), so padding with 0 would paint
    a bright frame around every image. This class pads with the
    ``background_value`` each sample carries in its metainfo (put
    ``'background_value'`` in ``PackDetInputs``' ``meta_keys``), falling
    back to ``pad_value``.

    Use it with ``mean=None, std=None, bgr_to_rgb=False`` (the pipeline has
    normalised already).

    Args:
        pad_value (float, optional): Fallback when samples carry no
            ``background_value``. Defaults to None, which raises if a batch
            has none (so a misconfigured pipeline is caught, not padded
            with 0).
        **kwargs: Passed to :class:`DetDataPreprocessor`.
    """

    def __init__(self, pad_value: Optional[float] = None, **kwargs) -> None:
        if kwargs.get('mean') is not None or kwargs.get('std') is not None:
            raise ValueError(
                'BackgroundPadDetDataPreprocessor pads images that the '
                'pipeline normalised already (ZeroIgnoringNormalize): set '
                'mean=None and std=None')
        self.fallback_pad_value = pad_value
        super().__init__(pad_value=0 if pad_value is None else pad_value,
                         **kwargs)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Set ``pad_value`` from the batch, then run
        :meth:`DetDataPreprocessor.forward`.

        Args:
            data (dict): ``inputs`` and ``data_samples`` from the loader.
            training (bool): Training mode.

        Returns:
            dict: ``inputs`` (N, C, H, W) float32 padded with the background
            value, and ``data_samples``.
        """
        self.pad_value = self.batch_background_value(data.get('data_samples'))
        return super().forward(data, training)

    def batch_background_value(self, data_samples) -> float:
        """The one background value of a batch.

        Raises:
            ValueError: If samples disagree, or none carries a value and no
                fallback ``pad_value`` was given.
        """
        values = {s.metainfo['background_value'] for s in data_samples or []
                  if 'background_value' in s.metainfo}
        if len(values) > 1 and max(values) - min(values) > 1e-6:
            raise ValueError(
                f'samples of one batch carry different background values '
                f'{sorted(values)}; normalise all splits with one stats file')
        if values:
            value = values.pop()
            if not math.isfinite(value):
                raise ValueError(f'background_value is {value}')
            return float(value)
        if self.fallback_pad_value is None:
            raise ValueError(
                "no 'background_value' in the data samples' metainfo and no "
                "pad_value given: add 'background_value' to PackDetInputs' "
                'meta_keys after ZeroIgnoringNormalize, or set pad_value')
        return float(self.fallback_pad_value)
