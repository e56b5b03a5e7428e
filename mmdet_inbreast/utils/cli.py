"""One behaviour for every tool: user errors end in one line, exit 2."""
from __future__ import annotations

import sys
import traceback
from typing import Callable, Optional, Sequence

from .errors import InputError

#: Flag every tool accepts: show the traceback of an input error as well.
DEBUG_FLAG = '--debug'


def run_tool(main: Callable[[], object],
             argv: Optional[Sequence[str]] = None) -> None:
    """Run a tool's ``main()`` and turn input errors into one line.

    :class:`InputError` (and anything that subclasses it) is printed as
    ``error: <message>`` on stderr and the process exits with status 2.
    With ``--debug`` on the command line the traceback is printed first.
    ``--debug`` is removed from ``sys.argv`` before ``main`` parses it, so
    tools need not declare it. Other exceptions propagate unchanged: they
    are programming errors and keep their traceback.

    Args:
        main (callable): The tool's entry point; takes no arguments and
            reads ``sys.argv``.
        argv (Sequence[str], optional): Arguments to use instead of
            ``sys.argv[1:]`` (tests).

    Example:
        >>> if __name__ == '__main__':
        ...     run_tool(main)
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in args
    sys.argv = [sys.argv[0]] + [a for a in args if a != DEBUG_FLAG]
    try:
        main()
    except InputError as e:
        if debug:
            traceback.print_exc()
        message = ' '.join(str(e).split('\n'))
        print(f'error: {message}', file=sys.stderr)
        if not debug:
            print(f'(run again with {DEBUG_FLAG} for the traceback)',
                  file=sys.stderr)
        sys.exit(2)


def add_model_args(parser) -> None:
    """Add the arguments of a tool that loads a trained detector.

    ``config`` and ``checkpoint`` (positional, in this order; add further
    positionals after this call), ``--device``, ``--data-root``,
    ``--stats-file`` and ``--cfg-options``: what
    :func:`~mmdet_inbreast.apis.init_inbreast_detector` takes.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    from mmengine.config import DictAction
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--device', default='cpu', help='cpu, cuda:0, ...')
    parser.add_argument(
        '--data-root', help="release folder of the config (moves the "
        "config's statistics file with it)")
    parser.add_argument(
        '--stats-file', help='ZeroIgnoringNormalize statistics JSON, if not '
        'where the config says')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')


def add_synthetic_args(parser, num_patients: int = 115, scale: float = 1.0,
                       contrast: float = 450.0) -> None:
    """Add the arguments of a tool that writes a synthetic release:
    ``--num-patients``, ``--scale``, ``--seed`` and ``--contrast`` (what
    :func:`~mmdet_inbreast.datasets.synthetic.make_synthetic_release`
    takes). :func:`check_synthetic_args` checks their values.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        num_patients (int): Default of ``--num-patients``.
        scale (float): Default of ``--scale``.
        contrast (float): Default of ``--contrast``.
    """
    parser.add_argument('--num-patients', type=int, default=num_patients)
    parser.add_argument(
        '--scale', type=float, default=scale,
        help='shrink images and masses (0.125: 416 x 510 images)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--contrast', type=float, default=contrast,
        help='peak mass brightness over tissue (14-bit units)')


def check_synthetic_args(args) -> None:
    """Refuse synthetic-release arguments no release can be written with.

    Args:
        args (argparse.Namespace): From a parser that
            :func:`add_synthetic_args` filled (``mass_fraction`` is checked
            too where the tool has it).

    Raises:
        InputError: One line naming the flag and the values it takes.
    """
    checks = [('--num-patients', args.num_patients >= 1, 'at least 1'),
              ('--scale', args.scale > 0, 'above 0'),
              ('--contrast', args.contrast > 0, 'above 0')]
    if hasattr(args, 'mass_fraction'):
        checks.append(('--mass-fraction', 0 <= args.mass_fraction <= 1,
                       'in [0, 1]'))
    for name, ok, want in checks:
        if not ok:
            value = getattr(args, name[2:].replace('-', '_'))
            raise InputError(f'{name} {value}: must be {want}')
