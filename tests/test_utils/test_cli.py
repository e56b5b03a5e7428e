import pytest

from mmdet_inbreast.utils.cli import run_tool
from mmdet_inbreast.utils.errors import InputError


def _bad():
    raise InputError('a.json: std is 0; rewrite it with python tools/x.py')


def test_input_error_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        run_tool(_bad, argv=[])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == ('error: a.json: std is 0; rewrite it '
                                   'with python tools/x.py')
    assert 'Traceback' not in err


def test_debug_shows_traceback_and_is_removed_from_argv(capsys):
    import sys
    seen = {}

    def main():
        seen['argv'] = list(sys.argv[1:])
        _bad()

    with pytest.raises(SystemExit):
        run_tool(main, argv=['x', '--debug'])
    assert seen['argv'] == ['x']
    assert 'Traceback' in capsys.readouterr().err


def test_programming_errors_propagate():
    def main():
        raise KeyError('bug')

    with pytest.raises(KeyError):
        run_tool(main, argv=[])
