"""`python3 -m deepspark COMMAND ...`: the `deepspark` tool's commands run in
this Python process, so nets with Python layers (type "Python") train, test
and time as with the binary. Processes the commands start (workers of
`train --workers`, servers) are the binary, which has no Python layers."""
import sys

from . import _deepspark, tool_path


def main(argv=None):
    args = list(sys.argv if argv is None else argv)
    args[0] = "python3 -m deepspark"
    sys.stdout.flush()
    return _deepspark.run_command_line(args, tool_path())


if __name__ == "__main__":
    sys.exit(main())
