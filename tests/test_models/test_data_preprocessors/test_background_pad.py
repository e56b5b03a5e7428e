"""BackgroundPadDetDataPreprocessor pads with the normalised background,
where mmdet's DetDataPreprocessor pads 0."""
import numpy as np
import pytest
import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.structures import DetDataSample

from mmdet_inbreast.datasets.transforms import ZeroIgnoringNormalize
from mmdet_inbreast.models.data_preprocessors.background_pad import \
    BackgroundPadDetDataPreprocessor

MEAN, STD = 1449.49, 221.67
BG = -MEAN / STD


def batch(background=(BG, BG), num_channels=3):
    """Two normalised images of different sizes, (C, 50, 40) and
    (C, 37, 61), with a raw-0 background column on the right."""
    inputs, samples = [], []
    rng = np.random.default_rng(0)
    for (h, w), bg in zip(((50, 40), (37, 61)), background):
        raw = rng.integers(1000, 2000, size=(h, w)).astype(np.uint16)
        raw[:, -5:] = 0
        t = ZeroIgnoringNormalize(mean=MEAN, std=STD,
                                  num_channels=num_channels)
        out = t(dict(img=raw))
        inputs.append(torch.from_numpy(out['img']).permute(2, 0, 1).clone())
        meta = dict(img_shape=(h, w), ori_shape=(h, w))
        if bg is not None:
            meta['background_value'] = bg
        samples.append(DetDataSample(metainfo=meta))
    return dict(inputs=inputs, data_samples=samples)


def test_pads_with_background():
    pre = BackgroundPadDetDataPreprocessor(pad_size_divisor=32)
    data = batch()
    out = pre(data, training=False)
    x = out['inputs']
    # max(50, 37) -> 64, max(40, 61) -> 64
    assert x.shape == (2, 3, 64, 64) and x.dtype == torch.float32
    assert out['data_samples'][0].batch_input_shape == (64, 64)
    assert out['data_samples'][1].pad_shape == (64, 64)
    # Images untouched, padded area equal to the background value.
    torch.testing.assert_close(x[0, :, :50, :40], data['inputs'][0])
    torch.testing.assert_close(x[1, :, :37, :61], data['inputs'][1])
    pad0 = torch.cat([x[0, :, 50:, :].flatten(), x[0, :, :, 40:].flatten()])
    pad1 = torch.cat([x[1, :, 37:, :].flatten(), x[1, :, :, 61:].flatten()])
    assert torch.allclose(pad0, torch.tensor(BG, dtype=torch.float32))
    assert torch.allclose(pad1, torch.tensor(BG, dtype=torch.float32))
    # ... the same value as the image's own background (raw 0).
    assert x[0, 0, 0, 39].item() == pytest.approx(BG, rel=1e-6)
    assert pre.pad_value == pytest.approx(BG)


def test_differs_from_mmdet_default():
    """mmdet's DetDataPreprocessor (mean=None) pads 0: 6.5 std above the
    background, a bright frame around every image."""
    ours = BackgroundPadDetDataPreprocessor(pad_size_divisor=32)(batch())
    theirs = DetDataPreprocessor(pad_size_divisor=32)(batch())
    a, b = ours['inputs'], theirs['inputs']
    assert a.shape == b.shape == (2, 3, 64, 64)
    # Same pixels inside the images, different padding.
    torch.testing.assert_close(a[0, :, :50, :40], b[0, :, :50, :40])
    assert (b[0, :, 50:, :] == 0).all()
    assert torch.allclose(a[0, :, 50:, :] - b[0, :, 50:, :],
                          torch.tensor(BG))
    assert BG == pytest.approx(-6.539, abs=1e-3)


def test_pad_size_divisor():
    out = BackgroundPadDetDataPreprocessor(pad_size_divisor=1)(batch())
    assert out['inputs'].shape == (2, 3, 50, 61)
    assert (out['inputs'][0, :, :, 40:] == np.float32(BG)).all()
    out = BackgroundPadDetDataPreprocessor(pad_size_divisor=7)(batch())
    assert out['inputs'].shape == (2, 3, 56, 63)


def test_fallback_and_errors():
    # No background_value in the samples: the fallback pad_value, if any.
    out = BackgroundPadDetDataPreprocessor(pad_value=-3.0)(
        batch(background=(None, None)))
    assert (out['inputs'][0, :, :, 40:] == -3.0).all()
    with pytest.raises(ValueError, match="no 'background_value'.*meta_keys"):
        BackgroundPadDetDataPreprocessor()(batch(background=(None, None)))
    with pytest.raises(ValueError, match='different background values'):
        BackgroundPadDetDataPreprocessor(pad_value=0.0)(
            batch(background=(BG, -1.0)))
    with pytest.raises(ValueError, match='background_value is nan'):
        BackgroundPadDetDataPreprocessor()(
            batch(background=(float('nan'), None)))
    with pytest.raises(ValueError, match='set mean=None and std=None'):
        BackgroundPadDetDataPreprocessor(mean=[0.0] * 3, std=[1.0] * 3)
    # A per-sample value wins over the fallback.
    out = BackgroundPadDetDataPreprocessor(pad_value=0.0)(batch())
    assert out['inputs'][0, 0, 49, 60].item() == pytest.approx(BG)


def test_expand_channels_equals_the_three_channel_pipeline():
    """Gray through the loader, 3 channels made after padding: the same
    batch as normalising to 3 channels in the pipeline."""
    gray = batch(num_channels=1)
    assert gray['inputs'][0].shape == (1, 50, 40)
    ref = BackgroundPadDetDataPreprocessor(pad_size_divisor=32)(batch())
    out = BackgroundPadDetDataPreprocessor(
        pad_size_divisor=32, expand_channels=3)(gray)
    assert out['inputs'].shape == (2, 3, 64, 64)
    assert out['inputs'].is_contiguous()
    assert torch.equal(out['inputs'], ref['inputs'])
    assert out['inputs'][1, 2, 63, 63].item() == pytest.approx(BG)
    # Already 3 channels: unchanged.
    again = BackgroundPadDetDataPreprocessor(
        pad_size_divisor=32, expand_channels=3)(batch())
    assert torch.equal(again['inputs'], ref['inputs'])
    # Without expansion the gray batch stays gray.
    plain = BackgroundPadDetDataPreprocessor(pad_size_divisor=32)(
        batch(num_channels=1))
    assert plain['inputs'].shape == (2, 1, 64, 64)
    with pytest.raises(ValueError, match='got 2 channels.*num_channels=1'):
        BackgroundPadDetDataPreprocessor(expand_channels=3)(
            batch(num_channels=2))
    with pytest.raises(ValueError, match='expand_channels must be >= 1'):
        BackgroundPadDetDataPreprocessor(expand_channels=0)


def test_built_from_registry():
    from mmdet.registry import MODELS
    import mmdet_inbreast  # noqa: F401
    pre = MODELS.build(dict(type='BackgroundPadDetDataPreprocessor',
                            pad_size_divisor=32, bgr_to_rgb=False))
    assert isinstance(pre, BackgroundPadDetDataPreprocessor)
