"""Every tool answers a user's mistake with one line and exit status 2.

Each case runs a tool in a subprocess with one bad input (a missing file, a
broken checkpoint, a bad JSON...) and checks: exit status 2, exactly one
``error:`` line on stderr naming the bad file, and no traceback. Tools that
do not go through :func:`mmdet_inbreast.utils.cli.run_tool` yet are skipped
(the skip says so); adding a tool or a fault is one line in ``CASES``.
"""
import subprocess
import sys
from pathlib import Path
from typing import Callable, NamedTuple

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = 'configs/demo/retina_demo_full.py'


class Case(NamedTuple):
    """``write(tmp_path)`` makes the bad input and returns the tool's
    arguments and the path the error line must name; ``expect`` is a
    further part of that line."""
    tool: str
    write: Callable[[Path], tuple]
    expect: str


def _file(path: Path, content) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _truncated_checkpoint(path: Path) -> Path:
    import torch
    torch.save({'state_dict': {'w': torch.zeros(1000)}}, str(path))
    data = path.read_bytes()
    return _file(path, data[:len(data) // 2])


def _missing(d):
    return d / 'missing'


def _dicom():
    """A DICOM file to run on (pydicom's own), so that a tool reaches its
    checkpoint."""
    from pydicom.data import get_testdata_file
    return get_testdata_file('MR_small.dcm', download=False)


CASES = [
    Case('plot_froc.py',
         lambda d: ([_missing(d), '--out', d / 'f.png'], _missing(d)),
         'no such file or directory'),
    Case('plot_froc.py',
         lambda d: ([_file(d / 'a.froc.json', '{"fpi": [1,'), '--out',
                     d / 'f.png'], d / 'a.froc.json'), 'not JSON'),
    Case('plot_history.py',
         lambda d: ([_file(d / 'run' / 'x.txt', '').parent, '--out',
                     d / 'h'], d / 'run'), 'vis_data/scalars.json'),
    Case('plot_history.py',
         lambda d: ([_file(d / 'run' / 'scalars.json', '{"loss": 1,\n'),
                     '--out', d / 'h'], d / 'run' / 'scalars.json'),
         'not a JSON object'),
    Case('make_synthetic_inbreast.py',
         lambda d: ([_file(d / 'out', 'x'), '--num-patients', 1],
                    d / 'out'), 'a file, not a folder'),
    Case('infer.py',
         lambda d: ([DEMO_CONFIG, _file(d / 'ckpt.pth', 'not weights\n'),
                     _dicom()], d / 'ckpt.pth'), 'not a checkpoint (12 bytes'),
    Case('infer.py',
         lambda d: ([DEMO_CONFIG, _truncated_checkpoint(d / 'c.pth'),
                     _dicom()], d / 'c.pth'), 'truncated'),
    Case('compute_stats.py',
         lambda d: ([_missing(d), '--split', 'splits/train.txt'],
                    _missing(d)), ''),
    Case('inbreast_to_coco.py',
         lambda d: ([_missing(d), '--out', d / 'c.json'], _missing(d)), ''),
    Case('split_patients.py', lambda d: ([_missing(d)], _missing(d)), ''),
    Case('study.py',
         lambda d: ([_missing(d), '--data-root', d, '--work-root', d / 'w'],
                    _missing(d)), 'study file not found'),
    Case('sweep.py',
         lambda d: ([_missing(d), '--work-root', d / 'w'], _missing(d)),
         'config not found'),
    Case('verify_vindr.py', lambda d: ([_missing(d)], _missing(d)),
         'not a folder'),
    Case('cache_images.py',
         lambda d: ([_missing(d), '--cache-dir', d / 'cache'], _missing(d)),
         ''),
    Case('visualize.py',
         lambda d: ([DEMO_CONFIG, _file(d / 'e.pth', b''), '--out',
                     d / 'vis'], d / 'e.pth'), 'not a checkpoint (0 bytes'),
]

#: Tools without a case yet (their inputs need a trained run or a release).
NO_CASE_YET = {'demo.py', 'optimize_anchors.py', 'test.py', 'train.py'}


def _uses_run_tool(tool: str) -> bool:
    return 'run_tool(main)' in (REPO / 'tools' / tool).read_text()


def _run(tool, args):
    return subprocess.run(
        [sys.executable, str(REPO / 'tools' / tool)] + [str(a) for a in args],
        cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize(
    'case', CASES, ids=[f'{c.tool}-{i}' for i, c in enumerate(CASES)])
def test_input_error_is_one_line(case, tmp_path):
    if not _uses_run_tool(case.tool):
        pytest.skip(f'tools/{case.tool} does not use run_tool yet')
    args, bad = case.write(tmp_path)
    result = _run(case.tool, args)
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('error: ')]
    assert len(errors) == 1, result.stderr[-3000:]
    assert str(bad) in errors[0] and case.expect in errors[0], errors[0]


@pytest.mark.slow
def test_debug_shows_the_traceback(tmp_path):
    result = _run('plot_froc.py', [tmp_path / 'missing', '--out',
                                   tmp_path / 'f.png', '--debug'])
    assert result.returncode == 2
    assert 'Traceback' in result.stderr and 'InputError' in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith('error: ')


def test_every_tool_has_a_case():
    tools = {p.name for p in (REPO / 'tools').glob('*.py')}
    with_case = {c.tool for c in CASES}
    assert tools - with_case == NO_CASE_YET
    assert not with_case - tools


def test_cases_write_what_they_name(tmp_path):
    """The builders themselves: every named file exists (or is the
    missing path), so a case cannot pass for the wrong reason."""
    for i, case in enumerate(CASES):
        d = tmp_path / str(i)
        d.mkdir()
        args, bad = case.write(d)
        assert str(bad) in [str(a) for a in args] or any(
            str(a).startswith(str(bad)) for a in args)
        assert bad.exists() == (bad.name != 'missing')
    # A truncated checkpoint really is one.
    from mmdet_inbreast.engine.checkpoint import checkpoint_file_problem
    path = _truncated_checkpoint(tmp_path / 't.pth')
    assert checkpoint_file_problem(str(path)).startswith('truncated')
