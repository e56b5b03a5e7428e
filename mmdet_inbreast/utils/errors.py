"""The project's one error type for bad user input."""


class InputError(ValueError):
    """A user's input that cannot be used: a file, a flag or a config value.

    The message is one line that names the file (or option), says what is
    wrong, and gives the fix, for example::

        splits/train.stats.json: std is 0; rewrite it with
        python tools/compute_stats.py "R" --split splits/train.txt

    Tools catch it through :func:`mmdet_inbreast.utils.cli.run_tool` and
    print that line (exit status 2) instead of a traceback. Programming
    errors are not ``InputError`` and keep their traceback.
    """
