"""mmdet_inbreast/utils/benchmark/{measure,train_data,train}.py: timing and
ratio helpers with fake steps and a fake clock (exact numbers, no timing
asserts), the memory probe, random inputs, and one tiny train step of each
loss on the CPU."""
import itertools

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_inbreast.utils.benchmark.measure import (PeakMemory, Timing, ratio,
                                                    time_calls)
from mmdet_inbreast.utils.benchmark.train import (MMCV_NO_BF16,
                                                  bench_train_step,
                                                  format_table)
from mmdet_inbreast.utils.benchmark.train_data import (bench_data_pipeline,
                                                       parse_hw,
                                                       synthetic_batch)

DEMO = 'configs/demo/retina_demo_patch.py'


class FakeClock:
    """Each call returns the next of ``times``."""

    def __init__(self, times):
        self.times = iter(times)

    def __call__(self):
        return next(self.times)


def test_time_calls_times_only_after_warmup():
    calls, syncs = [], []
    clock = FakeClock([10.0, 10.5, 11.0, 11.25, 20.0, 22.0])
    seconds, outputs = time_calls(
        lambda: calls.append(len(calls)) or 10 * len(calls), iters=3,
        warmup=2, sync=lambda: syncs.append(len(calls)), clock=clock)
    assert seconds == [0.5, 0.25, 2.0]
    assert outputs == [30, 40, 50]  # what the timed calls returned
    assert calls == [0, 1, 2, 3, 4]  # 2 warm-up + 3 timed calls
    assert syncs == [1, 2, 3, 4, 5]  # after every call
    with pytest.raises(ValueError, match='iters=0, warmup=1'):
        time_calls(lambda: None, iters=0)
    with pytest.raises(ValueError, match='warmup=-1'):
        time_calls(lambda: None, iters=1, warmup=-1)


def test_timing_rate_and_ratio():
    t = Timing('x', seconds=[0.5, 0.25, 0.25], items=[4, 4, 4])
    assert t.rate == 12.0  # 3 calls x 4 images in 1 s
    # A short batch counts what it holds: 8 + 8 + 2 images in 2 s.
    assert Timing('x', [0.75, 0.75, 0.5], [8, 8, 2]).rate == 9.0
    assert Timing('x').rate is None
    assert Timing('x', [1.0], [8], error='fails').rate is None
    assert ratio(12.0, 4.0) == 3.0
    assert ratio(None, 4.0) is None and ratio(1.0, None) is None
    assert ratio(1.0, 0.0) is None


def test_format_table():
    ours = Timing('train step (ours)', [1.0, 1.0], [8, 8],
                  peak_mem_mib=1500.4)
    stock = Timing('train step (stock)', [2.0, 2.0], [8, 8],
                   peak_mem_mib=2000.0)
    data = Timing('data pipeline (4 workers)', [0.25] * 4, [8] * 4)
    lines = format_table(ours, stock, data).splitlines()
    assert lines == [
        '                                        img/s   peak MiB  '
        'speed x stock  mem x stock',
        'train step (ours)                        8.00       1500'
        '           2.00         0.75',
        'train step (stock)                       4.00       2000'
        '           1.00         1.00',
        'data pipeline (4 workers)               32.00          -'
        '              -            -',
        'data pipeline / train step (ours): 4.00x (target >= 2 on GPU)',
    ]
    stock = Timing('train step (stock)', error=MMCV_NO_BF16)
    lines = format_table(ours, stock, data).splitlines()
    assert lines[1].split()[-3:] == ['1500', '-', '-']
    assert lines[2] == ('train step (stock)                    '
                        'fails (mmcv kernel has no bf16)')
    ours.mem_note = '*'
    assert format_table(ours, stock, data).splitlines()[1].split()[-3] == \
        '1500*'


@pytest.mark.parametrize('text, hw', [('1024x1024', (1024, 1024)),
                                      ('64X32', (64, 32)),
                                      (' 8 x 16 ', (8, 16))])
def test_parse_hw(text, hw):
    assert parse_hw(text) == hw


@pytest.mark.parametrize('text', ['1024', '0x8', '8x', 'axb', '-8x8'])
def test_parse_hw_rejects(text):
    with pytest.raises(ValueError, match='is not HxW'):
        parse_hw(text)


def test_synthetic_batch():
    batch = synthetic_batch(3, 40, 56, seed=1)
    assert [tuple(x.shape) for x in batch['inputs']] == [(3, 40, 56)] * 3
    assert all(x.dtype == torch.float32 for x in batch['inputs'])
    for s in batch['data_samples']:
        box = s.gt_instances.bboxes
        assert box.shape == (1, 4) and s.gt_instances.labels.tolist() == [0]
        x1, y1, x2, y2 = box[0].tolist()
        assert 0 <= x1 < x2 <= 56 and 0 <= y1 < y2 <= 40
        # 10-40 % of each side.
        assert 0.1 * 56 <= x2 - x1 <= 0.4 * 56 + 1e-4
        assert s.metainfo['img_shape'] == (40, 56)
        assert s.metainfo['background_value'] == -6.5
    again = synthetic_batch(3, 40, 56, seed=1)
    assert torch.equal(batch['inputs'][2], again['inputs'][2])


def test_peak_memory_cpu_sees_an_allocation():
    with PeakMemory('cpu') as mem:
        a = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        del a
    assert mem.note == ''  # /proc/self/clear_refs works here
    assert 60 <= mem.mib < 200


class FakeSampler:

    def __init__(self):
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)


class FakeLoader:
    """3 batches per epoch (2, 2, 1 samples); the sampler records its
    epochs."""
    batch_size, num_workers = 2, 0

    def __init__(self):
        self.sampler = FakeSampler()

    def __iter__(self):
        return iter([dict(inputs=[0, 0]), dict(inputs=[1, 1]),
                     dict(inputs=[2])])


def test_bench_data_pipeline_restarts_epochs():
    clock = FakeClock(itertools.count(0.0, 0.5))
    loader = FakeLoader()
    timing, kept = bench_data_pipeline(loader, iters=4, warmup=1,
                                       clock=clock, keep=2)
    assert timing.name == 'data pipeline (0 workers)'
    assert timing.seconds == [0.5] * 4
    # Warm-up: batch 0; timed: batches 1 2 | 0 1 (epoch 1).
    assert timing.items == [2, 1, 2, 2]
    assert timing.rate == 3.5
    # 1 warm-up + 4 timed batches (0 1 2 | 0 1), then the 2 kept: the
    # last of epoch 1 and the first of epoch 2.
    assert [b['inputs'][0] for b in kept] == [2, 0]
    assert loader.sampler.epochs == [0, 1, 2]


@pytest.fixture(scope='module')
def demo_cfg():
    return Config.fromfile(DEMO)


@pytest.fixture
def one_thread():
    """One intra-op thread (2 threads on 2 shared cores spin-wait for each
    other: several times slower); restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
@pytest.mark.parametrize('loss', ['TorchSigmoidFocalLoss', 'FocalLoss'])
def test_bench_train_step_cpu(demo_cfg, loss, one_thread):
    batches = [synthetic_batch(2, 32, 32, seed=s) for s in range(2)]
    timing = bench_train_step(demo_cfg, loss, batches, iters=2, warmup=1,
                              name='row')
    assert timing.error is None, timing.error
    assert timing.name == 'row' and timing.items == [2, 2]
    assert len(timing.seconds) == 2 and timing.rate > 0
    # Resident-set growth in MiB (not KiB, not bytes): the R18 + FPN
    # weights alone are 48 MiB, though memory this process freed earlier
    # can be reused without showing (see the docstring of
    # mmdet_inbreast/utils/benchmark/measure.py).
    assert 1 < timing.peak_mem_mib < 2000


def test_bench_train_step_reports_mmcv_bf16_failure(demo_cfg, monkeypatch,
                                                   one_thread):
    from mmdet.models.losses import FocalLoss

    def no_bf16(*args, **kwargs):
        raise RuntimeError('"sigmoid_focal_loss_forward_cuda_kernel" not '
                           "implemented for 'BFloat16'")

    monkeypatch.setattr(FocalLoss, 'forward', no_bf16)
    batches = [synthetic_batch(2, 32, 32)]
    stock = bench_train_step(demo_cfg, 'FocalLoss', batches, 1, 0)
    assert stock.error == MMCV_NO_BF16 and stock.rate is None
    # Other failures keep their own message.
    monkeypatch.setattr(FocalLoss, 'forward',
                        lambda *a, **k: 1 / 0)
    stock = bench_train_step(demo_cfg, 'FocalLoss', batches, 1, 0)
    assert stock.error == 'fails (ZeroDivisionError: division by zero)'


def test_bench_train_step_needs_a_focal_loss(demo_cfg):
    cfg = demo_cfg.copy()
    cfg.model.bbox_head.loss_cls = dict(type='CrossEntropyLoss')
    with pytest.raises(ValueError, match='needs a config using one of them'):
        bench_train_step(cfg, 'FocalLoss', [synthetic_batch(1, 32, 32)], 1)
