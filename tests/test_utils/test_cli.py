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


def test_synthetic_args_parsed_and_checked():
    import argparse

    from mmdet_inbreast.utils.cli import (add_synthetic_args,
                                          check_synthetic_args)
    parser = argparse.ArgumentParser()
    add_synthetic_args(parser, num_patients=30, scale=0.125, contrast=400.0)
    args = parser.parse_args([])
    assert (args.num_patients, args.scale, args.seed, args.contrast) == (
        30, 0.125, 0, 400.0)
    check_synthetic_args(args)
    for argv, message in [
            (['--num-patients', '0'], '--num-patients 0: must be at least 1'),
            (['--scale', '-1'], '--scale -1.0: must be above 0'),
            (['--contrast', '0'], '--contrast 0.0: must be above 0')]:
        with pytest.raises(InputError) as e:
            check_synthetic_args(parser.parse_args(argv))
        assert str(e.value) == message
    args.mass_fraction = 1.5
    with pytest.raises(InputError, match=r'--mass-fraction 1.5: must be in'):
        check_synthetic_args(args)


def test_model_args_order_and_defaults():
    import argparse

    from mmdet_inbreast.utils.cli import add_model_args
    parser = argparse.ArgumentParser()
    add_model_args(parser)
    parser.add_argument('input')
    args = parser.parse_args(['c.py', 'w.pth', 'dicoms', '--cfg-options',
                              'a.b=2', '--data-root', 'R'])
    assert (args.config, args.checkpoint, args.input) == ('c.py', 'w.pth',
                                                          'dicoms')
    assert (args.device, args.data_root, args.stats_file) == ('cpu', 'R',
                                                              None)
    assert args.cfg_options == {'a.b': 2}
