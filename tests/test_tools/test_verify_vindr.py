"""tools/verify_vindr.py on a synthetic VinDr-Mammo release."""
import csv
import os.path as osp
import sys

import pytest

from mmdet_inbreast.datasets.synthetic_vindr import make_synthetic_vindr
from mmdet_inbreast.utils.cli import run_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
import verify_vindr  # noqa: E402


def test_verify_vindr(tmp_path, capsys):
    make_synthetic_vindr(str(tmp_path), num_studies=2, seed=5)
    root = str(tmp_path / 'vindr-mammo')
    run_tool(verify_vindr.main, [root])
    assert '8 images: every DICOM header agrees' in capsys.readouterr().out

    path = osp.join(root, 'breast-level_annotations.csv')
    rows = list(csv.reader(open(path, newline='')))
    w = rows[0].index('width')
    rows[6][w] = str(int(rows[6][w]) - 3)
    with open(path, 'w', newline='') as f:
        csv.writer(f, lineterminator='\n').writerows(rows)
    with pytest.raises(SystemExit) as e:
        run_tool(verify_vindr.main, [root])
    assert e.value.code == 2
    out = capsys.readouterr()
    (line, ) = [ln for ln in out.out.splitlines() if 'DICOM is' in ln]
    assert f'{path}:7 says' in line
    assert 'error: ' in out.err and '1 of 8 images' in out.err
