"""A checkpoint of another model is refused (load_from, resume, test), and
a partial load happens only when asked for."""
import os.path as osp
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from torch import nn

from mmdet_inbreast.engine import CheckpointError, check_checkpoint_fits
from mmdet_inbreast.engine.checkpoint_fit import compare_state_dicts

pytestmark = pytest.mark.usefixtures('single_thread')


# ------------------------------------------------------------- pure checks
class _Net(nn.Module):

    def __init__(self, width=4, extra=False):
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3)
        self.bn = nn.BatchNorm2d(width)
        self.head = nn.Linear(width, 2)
        if extra:
            self.more = nn.Linear(2, 2)


def _brute_force(expected, found):
    """Reference: the same comparison written as plain loops."""
    out = dict(fit=0, mismatched=[], missing=[], unexpected=[])
    for k in expected:
        if k not in found:
            if not k.endswith('num_batches_tracked'):
                out['missing'].append(k)
        elif found[k].shape != expected[k].shape:
            out['mismatched'].append(k)
        else:
            out['fit'] += 1
    out['unexpected'] = [k for k in found if k not in expected]
    return out


@pytest.mark.parametrize('found_model', [
    dict(width=8), dict(width=4, extra=True), dict(width=8, extra=True)])
def test_compare_state_dicts_matches_reference(found_model):
    expected = _Net(4).state_dict()
    found = _Net(**found_model).state_dict()
    del found['head.bias']
    report = compare_state_dicts(expected, found)
    ref = _brute_force(expected, found)
    assert len(report['fit']) == ref['fit']
    assert [m[0] for m in report['mismatched']] == ref['mismatched']
    assert report['missing'] == ref['missing'] == ['head.bias']
    assert report['unexpected'] == ref['unexpected']
    assert report['total'] == len(expected) == 9


def test_check_fits_exactly_and_ignores_num_batches_tracked():
    model = _Net(4)
    sd = {f'module.{k}': v for k, v in model.state_dict().items()
          if 'num_batches_tracked' not in k}  # older torch, DDP prefix
    report = check_checkpoint_fits(model, dict(state_dict=sd), 'a.pth')
    assert len(report['fit']) == 8 and not report['missing']


def test_check_refuses_other_width_with_first_tensor_and_counts():
    with pytest.raises(CheckpointError) as e:
        check_checkpoint_fits(_Net(4), dict(state_dict=_Net(8).state_dict()),
                              'wide.pth', 'configs/x.py')
    msg = str(e.value)
    assert msg.startswith('wide.pth: its weights do not fit the model of '
                          'configs/x.py: 7 tensors differ in shape (first: '
                          'conv.weight expected (4, 1, 3, 3), found '
                          '(8, 1, 3, 3)); 2 of 9 fit.')
    assert 'load_from_partial=True' in msg and '\n' not in msg


def test_partial_load_allowed_but_not_when_nothing_fits():
    report = check_checkpoint_fits(
        _Net(4), _Net(8).state_dict(), 'wide.pth', partial=True)
    assert len(report['fit']) == 2  # bn.num_batches_tracked, head.bias
    with pytest.raises(CheckpointError, match='none of its tensors fit'):
        check_checkpoint_fits(_Net(4), nn.Linear(3, 3).state_dict(),
                              'linear.pth', partial=True)


# ------------------------------------------------- through mmengine's Runner
@pytest.fixture(scope='module')
def wide_checkpoint(tiny_config, tmp_path_factory):
    """A checkpoint of the demo model at full width (base_channels 64, neck
    in_channels of a standard ResNet-18): the wrong model for tiny_config.
    Returns (path, its state dict)."""
    from mmdet.registry import MODELS
    cfg = Config.fromfile(tiny_config)
    cfg.model.backbone.base_channels = 64
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    with DefaultScope.overwrite_default_scope('mmdet'):
        torch.manual_seed(1)
        model = MODELS.build(cfg.model)
    path = str(tmp_path_factory.mktemp('wide') / 'r18_wide.pth')
    torch.save(dict(meta=dict(epoch=3), state_dict=model.state_dict()), path)
    return path, model.state_dict()


def _runner(tiny_config, work_dir, **options):
    cfg = Config.fromfile(tiny_config)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'fit_{uuid.uuid4().hex[:8]}'
    cfg.update(options)
    return Runner.from_cfg(cfg)


def test_runner_refuses_checkpoint_of_another_model(tiny_config,
                                                     wide_checkpoint,
                                                     tmp_path):
    path, wide = wide_checkpoint
    runner = _runner(tiny_config, tmp_path, load_from=path)
    expected = runner.model.state_dict()
    n_diff = sum(1 for k in expected
                 if k in wide and wide[k].shape != expected[k].shape)
    before = {k: v.clone() for k, v in expected.items()}
    with pytest.raises(CheckpointError) as e:
        runner.load_or_resume()
    msg = str(e.value)
    assert msg.startswith(
        f'{path}: its weights do not fit the model of {tiny_config}: '
        f'{n_diff} tensors differ in shape (first: backbone.conv1.weight '
        'expected (32, 3, 7, 7), found (64, 3, 7, 7))')
    assert n_diff > 50
    # Nothing was loaded.
    for k, v in runner.model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_runner_partial_load_only_when_asked(tiny_config, wide_checkpoint,
                                             tmp_path):
    path, wide = wide_checkpoint
    runner = _runner(tiny_config, tmp_path, load_from=path,
                     load_from_partial=True)
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.load_or_resume()
    after = runner.model.state_dict()
    fit = [k for k in after if k in wide and wide[k].shape == after[k].shape]
    other = [k for k in after if k not in fit]
    assert 'bbox_head.retina_cls.weight' in fit and other
    for k in fit:
        assert torch.equal(after[k], wide[k]), k
    for k in other:
        assert torch.equal(after[k], before[k]), k
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert (f'{path}: partial load into {tiny_config} '
            f'(load_from_partial=True): {len(fit)} of {len(after)} tensors '
            'loaded') in log


def test_resume_is_never_partial(tiny_config, wide_checkpoint, tmp_path):
    path, _ = wide_checkpoint
    runner = _runner(tiny_config, tmp_path, load_from=path, resume=True,
                     load_from_partial=True)
    with pytest.raises(CheckpointError, match='do not fit'):
        runner.load_or_resume()


def test_runner_loads_its_own_checkpoint(tiny_config, run_a, tmp_path):
    ckpt = osp.join(run_a, 'epoch_2.pth')
    runner = _runner(tiny_config, tmp_path, load_from=ckpt)
    runner.load_or_resume()
    from mmdet_inbreast.engine.checkpoint import safe_torch_load
    sd = safe_torch_load(ckpt)['state_dict']
    for k, v in runner.model.state_dict().items():
        assert torch.equal(v, sd[k]), k
