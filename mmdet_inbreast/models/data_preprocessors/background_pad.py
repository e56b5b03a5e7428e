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

    With ``expand_channels=3`` the pipeline can hand over the gray image
    once (``ZeroIgnoringNormalize(num_channels=1)``) and the copies to 3
    channels are made here, on the model's device, after padding: a third
    of the bytes through loader workers, pinned memory and the host-to-GPU
    copy (a 1024 x 1024 patch is 4 MiB instead of 12 MiB of float32).

    Args:
        pad_value (float, optional): Fallback when samples carry no
            ``background_value``. Defaults to None, which raises if a batch
            has none (so a misconfigured pipeline is caught, not padded
            with 0).
        expand_channels (int, optional): Repeat single-channel batches to
            this many channels; batches that have it already pass
            unchanged. Defaults to None (no expansion).
        **kwargs: Passed to :class:`DetDataPreprocessor`.
    """

    def __init__(self,
                 pad_value: Optional[float] = None,
                 expand_channels: Optional[int] = None,
                 **kwargs) -> None:
        if kwargs.get('mean') is not None or kwargs.get('std') is not None:
            raise ValueError(
                'BackgroundPadDetDataPreprocessor pads images that the '
                'pipeline normalised already (ZeroIgnoringNormalize): set '
                'mean=None and std=None')
        if expand_channels is not None and expand_channels < 1:
            raise ValueError(
                f'expand_channels must be >= 1 or None, got {expand_channels}')
        self.fallback_pad_value = pad_value
        self.expand_channels = expand_channels
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
            value (C = ``expand_channels`` when set), and ``data_samples``.

        Raises:
            ValueError: If ``expand_channels`` is set and the batch has
                neither 1 nor that many channels.
        """
        self.pad_value = self.batch_background_value(data.get('data_samples'))
        data = super().forward(data, training)
        if self.expand_channels is not None:
            inputs = data['inputs']
            channels = inputs.shape[1]
            if channels == 1 and self.expand_channels != 1:
                data['inputs'] = inputs.expand(
                    -1, self.expand_channels, -1, -1).contiguous()
            elif channels != self.expand_channels:
                raise ValueError(
                    f'expand_channels={self.expand_channels} repeats '
                    f'single-channel images, got {channels} channels: set '
                    'ZeroIgnoringNormalize(num_channels=1) in the pipeline')
        return data

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
