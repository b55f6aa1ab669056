"""What ``tools/dist_train.sh`` and ``tools/dist_test.sh`` launch: torchrun, whose output ends
with the tool's own error line, once.

``python -m torch.distributed.run`` on a tool that stops with a user error (a refused
``--cfg-options``, a missing file) shows the one-line error of every rank, then torchrun's
logging of the failure and the traceback and failure table of its ``ChildFailedError``: about
40 lines after the line that says what to fix. Here (same arguments as torchrun):

- each rank's :func:`.cli.run_cli` writes its error line into a folder (``FP_DIST_ERROR_DIR``)
  instead of printing it; the distinct lines are printed once, last, with exit code 2;
- torchrun's "failed (exitcode ...)" and "Sending process ... closing signal" log lines and the
  ``ChildFailedError`` dump are left out; a rank that fails otherwise (a traceback, a signal)
  keeps its own output, and one last line names the rank and its exit code or signal.

Anything else (rendezvous errors, ...) is torchrun's, unchanged. Imports only torch, so that
the scripts can run this file by path without loading the plugin.
"""
import logging
import os
import os.path as osp
import re
import shutil
import sys
import tempfile

ERROR_DIR_ENV = 'FP_DIST_ERROR_DIR'


class _NoFailureLog(logging.Filter):
    """Drops the agent's log lines about a failed worker (the last line says it)."""

    def filter(self, record):
        return not str(record.msg).startswith(('failed (exitcode', 'Sending process'))


def error_file(rank):
    """Where :func:`.cli.run_cli` writes the error line of ``rank`` under this launcher, or None
    outside it."""
    folder = os.environ.get(ERROR_DIR_ENV)
    return osp.join(folder, f'rank{rank}.txt') if folder and osp.isdir(folder) else None


def rank_errors(folder):
    """The distinct error lines written into ``folder``, in rank order."""
    names = sorted(os.listdir(folder), key=lambda n: int(re.sub(r'\D', '', n) or 0))
    lines = []
    for name in names:
        with open(osp.join(folder, name)) as f:
            line = f.read().strip()
        if line and line not in lines:
            lines.append(line)
    return lines


def main(argv=None):
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run
    logging.getLogger('torch.distributed.elastic.multiprocessing.api').addFilter(_NoFailureLog())
    args = parse_args(argv)
    folder = tempfile.mkdtemp(prefix='fp-dist-errors-')
    os.environ[ERROR_DIR_ENV] = folder  # inherited by the ranks
    try:
        run(args)
        return 0
    except ChildFailedError as e:
        errors = rank_errors(folder)
        if errors:
            print('\n'.join(errors), file=sys.stderr)
            return 2
        rank, failure = e.get_first_failure()
        how = f'signal {failure.signal_name()}' if failure.exitcode < 0 else \
            f'exit code {failure.exitcode}'
        print(
            f'error: {e.name} failed on rank {rank} (local rank {failure.local_rank}) with '
            f'{how}; its output is above',
            file=sys.stderr)
        return failure.exitcode if failure.exitcode > 0 else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == '__main__':
    # run by path (tools/dist_*.sh), not with -m: the launcher then skips importing the plugin
    # (mmdet and all, seconds per launch); its own folder must not shadow other modules
    here = osp.dirname(osp.abspath(__file__))
    sys.path = [p for p in sys.path if osp.abspath(p or '.') != here]
    sys.exit(main())
