"""SeededSampler: a sample's crop depends on (seed, epoch, index) only, not
on loader workers, so persistent workers and exact resume go together."""
import pickle

import numpy as np
import pytest
from mmengine.dataset import DefaultSampler
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import mmdet_inbreast  # noqa: F401  (registration)
from mmdet_inbreast.datasets import (MassRepeatDataset, SeededIndex,
                                     SeededSampler, sample_seed, seed_sample)


def test_sample_seed_is_a_function_of_its_arguments():
    assert sample_seed(7, 1, 3) == sample_seed(7, 1, 3, 0)
    seeds = {sample_seed(s, e, i, r) for s in (0, 7) for e in (0, 1)
             for i in (0, 1, 2) for r in (0, 1)}
    assert len(seeds) == 24
    assert all(0 <= s < 2**32 for s in seeds)


def test_seeded_index_is_an_int_that_pickles_with_its_seed():
    idx = SeededIndex(3, 12345)
    assert idx == 3 and isinstance(idx, int) and [10, 11, 12, 13][idx] == 13
    back = pickle.loads(pickle.dumps(idx))
    assert type(back) is SeededIndex and back == 3 and back.seed == 12345
    assert type(seed_sample(back)) is int and seed_sample(back) == 3


def test_seed_sample_seeds_numpy_and_random():
    import random
    seed_sample(SeededIndex(0, 99))
    a = (np.random.rand(), random.random())
    seed_sample(SeededIndex(5, 99))
    assert (np.random.rand(), random.random()) == a
    state = np.random.get_state()[1].copy()
    assert seed_sample(4) == 4  # a plain int leaves the generators alone
    assert np.array_equal(np.random.get_state()[1], state)


def test_order_as_default_sampler_and_seeds_per_epoch():
    data = list(range(10))
    ours, ref = SeededSampler(data, seed=5), DefaultSampler(data, seed=5)
    for epoch in (0, 1):
        ours.set_epoch(epoch)
        ref.set_epoch(epoch)
        got = list(ours)
        assert got == list(ref)
        assert [i.seed for i in got] == [sample_seed(5, epoch, i) for i in got]
    ours.set_epoch(0)
    e0 = {int(i): i.seed for i in ours}
    ours.set_epoch(1)
    e1 = {int(i): i.seed for i in ours}
    assert all(e0[i] != e1[i] for i in range(10))


def _ranks(monkeypatch, data, world_size, **kwargs):
    out = []
    for rank in range(world_size):
        monkeypatch.setattr('mmengine.dataset.sampler.get_dist_info',
                            lambda r=rank: (r, world_size))
        sampler = SeededSampler(data, seed=3, **kwargs)
        sampler.set_epoch(2)
        out.append([(int(i), i.seed) for i in sampler])
    return out


def test_seeds_do_not_depend_on_the_number_of_ranks(monkeypatch):
    data = list(range(7))
    single, = _ranks(monkeypatch, data, 1)
    r0, r1, r2 = _ranks(monkeypatch, data, 3)
    assert len(r0) == len(r1) == len(r2) == 3  # 9 = 7 + 2 padded
    merged = r0 + r1 + r2
    assert set(single) <= set(merged)
    # The two padded repeats: same index as an earlier sample, own seed.
    extra = sorted(set(merged) - set(single))
    assert len(extra) == 2
    for idx, seed in extra:
        assert seed == sample_seed(3, 2, idx, 1)
        assert (idx, sample_seed(3, 2, idx, 0)) in single


def _crop_record(release, num_workers, persistent, sampler_type, epochs=2):
    """(img_id, crop_offset, flip) of every sample, epoch by epoch."""
    pipeline = [
        dict(type='LoadDicomImage'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='MassPreservingRandomCrop', crop_size=(48, 48),
             tissue_stride=2),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs',
             meta_keys=('img_id', 'crop_offset', 'flip')),
    ]
    cfg = dict(
        batch_size=2, num_workers=num_workers, persistent_workers=persistent,
        sampler=dict(type=sampler_type, shuffle=True),
        worker_init_fn=dict(type='inbreast_worker_init_fn'),
        dataset=dict(type='MassRepeatDataset', pos_times=2, neg_times=1,
                     dataset=dict(type='INbreastDataset', data_root=release,
                                  pipeline=pipeline)))
    with DefaultScope.overwrite_default_scope('mmdet'):
        loader = Runner.build_dataloader(cfg, seed=11)
    assert isinstance(loader.dataset, MassRepeatDataset)
    records = []
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        records.append([
            (s.img_id, tuple(int(v) for v in s.crop_offset), s.flip)
            for batch in loader for s in batch['data_samples']])
    return records


@pytest.mark.slow
def test_crops_do_not_depend_on_workers(synthetic_release):
    release, _ = synthetic_release
    main = _crop_record(release, 0, False, 'SeededSampler')
    workers = _crop_record(release, 2, True, 'SeededSampler')
    assert main == workers
    e0, e1 = main
    assert len(e0) == len(e1) > 10
    # Each epoch draws new crops of the same images.
    assert sorted(r[0] for r in e0) == sorted(r[0] for r in e1)
    assert len(set(e0) ^ set(e1)) > len(e0)


@pytest.mark.slow
def test_control_default_sampler_crops_follow_the_workers(synthetic_release):
    """Without per-sample seeds the crops depend on the worker that runs
    them: the property above is not automatic."""
    release, _ = synthetic_release
    main = _crop_record(release, 0, False, 'DefaultSampler', epochs=1)
    workers = _crop_record(release, 2, True, 'DefaultSampler', epochs=1)
    assert [r[0] for r in main[0]] == [r[0] for r in workers[0]]
    assert main != workers
