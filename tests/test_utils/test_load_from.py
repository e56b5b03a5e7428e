"""``load_from = 'workdir://DIR'``: mmengine's own Runner loads the
checkpoint that DIR/last_checkpoint names (the phase-1 -> phase-2
hand-over), without this project's train tool."""
import os
import os.path as osp
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

from mmdet_inbreast.utils import InputError, resolve_load_from
from mmdet_inbreast.utils.config import work_dir_checkpoint

REPO = Path(__file__).resolve().parents[2]


def phase1_work_dir(root, cfg, name='epoch_3.pth', seed=1):
    """A work dir as mmengine leaves it: a checkpoint and last_checkpoint
    naming it. Returns (work_dir, state_dict saved)."""
    from mmengine.registry import init_default_scope
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    for p in model.parameters():  # far from any initialisation
        p.data.uniform_(-3, 3)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    work_dir = osp.join(str(root), 'phase1')
    os.makedirs(work_dir)
    ckpt = osp.join(work_dir, name)
    torch.save(dict(state_dict=state, meta=dict(epoch=3)), ckpt)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(ckpt)
    return work_dir, state


def demo_full_cfg(tmp_path):
    cfg = Config.fromfile(str(REPO / 'configs/demo/retina_demo_full.py'))
    cfg.work_dir = str(tmp_path / 'phase2')
    return cfg


def test_runner_from_cfg_loads_last_checkpoint(tmp_path):
    cfg = demo_full_cfg(tmp_path)
    work_dir, state = phase1_work_dir(tmp_path, cfg)
    cfg.load_from = 'workdir://' + work_dir
    runner = Runner.from_cfg(cfg)
    before = runner.model.state_dict()
    assert not torch.equal(before['bbox_head.retina_cls.weight'],
                           state['bbox_head.retina_cls.weight'])
    runner.load_or_resume()  # what Runner.train() does first
    after = runner.model.state_dict()
    assert set(after) == set(state)
    for k, v in state.items():
        assert torch.equal(after[k], v), k


def test_scheme_follows_a_moved_work_dir(tmp_path):
    cfg = demo_full_cfg(tmp_path)
    work_dir, state = phase1_work_dir(tmp_path, cfg)
    moved = str(tmp_path / 'moved')
    os.rename(work_dir, moved)  # last_checkpoint still names the old path
    assert work_dir_checkpoint(moved) == osp.join(moved, 'epoch_3.pth')
    ckpt = CheckpointLoader.load_checkpoint('workdir://' + moved, 'cpu')
    assert torch.equal(ckpt['state_dict']['bbox_head.retina_reg.bias'],
                       state['bbox_head.retina_reg.bias'])


def test_resolve_load_from_records_the_file(tmp_path):
    cfg = demo_full_cfg(tmp_path)
    work_dir, _ = phase1_work_dir(tmp_path, cfg)
    for given in ('workdir://' + work_dir, work_dir):
        cfg.load_from = given
        assert resolve_load_from(cfg).load_from == osp.join(
            work_dir, 'epoch_3.pth')
    cfg.load_from = osp.join(work_dir, 'epoch_3.pth')  # a file: unchanged
    assert resolve_load_from(cfg).load_from == osp.join(
        work_dir, 'epoch_3.pth')


def test_errors_name_the_folder_and_the_fix(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(InputError, match=r"empty: no 'last_checkpoint'.*"
                       r'train phase 1'):
        CheckpointLoader.load_checkpoint(f'workdir://{empty}', 'cpu')
    with pytest.raises(InputError, match='does not exist; train phase 1'):
        work_dir_checkpoint(str(tmp_path / 'never_trained'))
    (empty / 'last_checkpoint').write_text(str(tmp_path / 'gone.pth'))
    with pytest.raises(InputError, match=r"last_checkpoint names .*gone"):
        work_dir_checkpoint(str(empty))
