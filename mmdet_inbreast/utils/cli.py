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
