# Copyright (c) mmfsar contributors. All rights reserved.
"""Helpers shared by the benchmark scripts.

Machine description, device choice, timing, peak-memory measurement, a
subprocess runner that turns running out of memory into a result instead
of a crash, plain-text tables, and the annotation layout of the generated
datasets.
"""
import json
import os
import os.path as osp
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
GIB = float(1 << 30)
MIB = float(1 << 20)


# ---------------------------------------------------------------- machine
def _meminfo() -> Dict[str, int]:
    """``/proc/meminfo`` in bytes (empty where there is no /proc)."""
    info = {}
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                key, value = line.split(':', 1)
                info[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return info


def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo``."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def available_memory() -> Optional[int]:
    """``MemAvailable`` in bytes, or None where it is unknown."""
    return _meminfo().get('MemAvailable')


def machine_info(device: Optional[torch.device] = None) -> Dict[str, str]:
    """What the figures were measured on.

    Args:
        device (torch.device, optional): The device the benchmark runs on.

    Returns:
        dict: Readable name -> value.
    """
    mem = _meminfo()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    ram = 'unknown'
    if 'MemTotal' in mem:
        ram = (f'{mem["MemTotal"] / GIB:.1f} GiB '
               f'({mem.get("MemAvailable", 0) / GIB:.1f} GiB available)')
    info = dict(CPU=cpu_model())
    info['cores'] = f'{os.cpu_count()} ({usable} usable by this process)'
    info['RAM'] = ram
    info['load average'] = ', '.join(f'{x:.2f}' for x in os.getloadavg())
    info['python'] = platform.python_version()
    info['torch'] = (f'{torch.__version__} '
                     f'({torch.get_num_threads()} threads)')
    if device is not None:
        info['device'] = str(device)
    if torch.cuda.is_available():
        index = (device.index or 0) if device is not None and \
            device.type == 'cuda' else 0
        props = torch.cuda.get_device_properties(index)
        info['GPU'] = (f'{props.name}, {props.total_memory / GIB:.1f} GiB, '
                       f'CUDA {torch.version.cuda}')
    else:
        info['GPU'] = 'none'
    return info


def print_machine(device: Optional[torch.device] = None) -> None:
    """Print :func:`machine_info` as an aligned block, with a warning when
    other processes already keep the CPUs busy."""
    info = machine_info(device)
    width = max(len(k) for k in info)
    print('Machine')
    for key, value in info.items():
        print(f'  {key:<{width}}  {value}')
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > 0.5 * cores:
        print(f'  WARNING: load average {load:.2f} on {cores} cores before '
              'this benchmark started: other work competes for the CPUs, '
              'so times are noisy. Multi-threaded torch ops on small '
              'tensors can then wait milliseconds for a thread; consider '
              '--threads 1 where the script offers it.')
    print()


# ----------------------------------------------------------------- device
def add_device_argument(parser) -> None:
    """Add ``--device`` (``auto``: CUDA when available, else CPU)."""
    parser.add_argument(
        '--device',
        default='auto',
        help='torch device, e.g. cpu, cuda, cuda:1; auto (default) picks '
        'CUDA when available')


def resolve_device(name: str) -> torch.device:
    """The device for ``--device``; fails early on missing CUDA."""
    if name == 'auto':
        name = 'cuda' if torch.cuda.is_available() else 'cpu'
    device = torch.device(name)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(f'--device {name}: CUDA is not available here.')
    return device


def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA work, so that a wall-clock time is complete."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


# ----------------------------------------------------------------- timing
def time_calls(fn: Callable[[], object],
               device: torch.device,
               repeats: int,
               warmup: int = 1) -> List[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` after ``warmup``.

    Args:
        fn (callable): Called without arguments.
        device (torch.device): Synchronised around every call.
        repeats (int): Timed calls.
        warmup (int): Untimed calls first. Defaults to 1.

    Returns:
        list[float]: One time per timed call.
    """
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return float(statistics.median(values))


def format_seconds(seconds: Optional[float]) -> str:
    """``12.3 s``, ``45.6 ms`` or ``7.8 us``."""
    if seconds is None:
        return '-'
    if seconds >= 1:
        return f'{seconds:.2f} s'
    if seconds >= 1e-3:
        return f'{seconds * 1e3:.2f} ms'
    return f'{seconds * 1e6:.1f} us'


# ----------------------------------------------------------------- memory
def _status_bytes(key: str, pid: str = 'self') -> Optional[int]:
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class PeakMemory:
    """Peak memory of this process on ``device`` since :meth:`reset`.

    CUDA: ``torch.cuda.max_memory_allocated`` (tensors only, not the
    allocator's cache or the CUDA context). CPU: the process's peak
    resident set size ``VmHWM``, reset by writing ``5`` to
    ``/proc/self/clear_refs`` (Linux >= 4.0); where the reset is refused the
    peak covers the whole life of the process, which is why the benchmarks
    measure in a fresh process per configuration.

    Args:
        device (torch.device): Where to measure.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.reset_works = True

    @property
    def what(self) -> str:
        """A readable name of the figure."""
        if self.device.type == 'cuda':
            return 'torch.cuda.max_memory_allocated'
        if self.reset_works:
            return 'peak RSS (VmHWM, reset via /proc/self/clear_refs)'
        return 'peak RSS of the process (VmHWM, not resettable here)'

    def current(self) -> int:
        """Memory in use now, in bytes."""
        if self.device.type == 'cuda':
            return torch.cuda.memory_allocated(self.device)
        return _status_bytes('VmRSS') or 0

    def reset(self) -> None:
        """Start a new peak from the memory in use now."""
        if self.device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
        except OSError:
            self.reset_works = False

    def peak(self) -> int:
        """Peak memory since :meth:`reset`, in bytes."""
        if self.device.type == 'cuda':
            return torch.cuda.max_memory_allocated(self.device)
        return _status_bytes('VmHWM') or 0


def is_out_of_memory(err: BaseException) -> bool:
    """Whether an exception means the device ran out of memory."""
    if isinstance(err, MemoryError):
        return True
    if isinstance(err, getattr(torch.cuda, 'OutOfMemoryError', ())):
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and ('out of memory' in text or
                                              "can't allocate memory" in text)


# ------------------------------------------------------------- subprocess
class WorkerOutcome:
    """How a worker subprocess ended.

    Attributes:
        result (dict | None): The JSON the worker wrote, if any.
        returncode (int): Its exit status (negative: killed by a signal).
        peak_rss (int): Highest RSS the parent saw while polling, in bytes.
        memory_killed (bool): The parent killed it at ``mem_limit``.
        timed_out (bool): The parent killed it at ``timeout``.
        log (str): The tail of its stdout and stderr.
    """

    def __init__(self, result, returncode, peak_rss, memory_killed, timed_out,
                 log) -> None:
        self.result = result
        self.returncode = returncode
        self.peak_rss = peak_rss
        self.memory_killed = memory_killed
        self.timed_out = timed_out
        self.log = log

    @property
    def out_of_memory(self) -> bool:
        """Killed for memory by the parent or the kernel, or it said so."""
        if self.result is not None:
            return bool(self.result.get('out_of_memory'))
        return self.memory_killed or self.returncode == -signal.SIGKILL

    def describe_failure(self) -> str:
        """One line saying why there is no figure."""
        if self.result is not None and self.result.get('out_of_memory'):
            return (f'out of memory at '
                    f'{self.result.get("memory_at_failure", 0) / GIB:.1f} '
                    'GiB')
        if self.memory_killed:
            return (f'out of memory at {self.peak_rss / GIB:.1f} GiB '
                    '(stopped at --mem-limit-gb)')
        if self.returncode == -signal.SIGKILL:
            return (f'out of memory at {self.peak_rss / GIB:.1f} GiB '
                    '(killed by SIGKILL, presumably the kernel OOM killer)')
        if self.timed_out:
            return 'timed out (--timeout)'
        return f'failed with exit status {self.returncode}'


def run_worker(args: Sequence[str],
               mem_limit: Optional[int] = None,
               timeout: Optional[float] = None,
               poll: float = 0.1) -> WorkerOutcome:
    """Run ``python <args> --result-file F`` and read the JSON from ``F``.

    While it runs, its resident memory is polled; above ``mem_limit`` it is
    killed rather than left to the kernel's OOM killer, which on a shared
    machine may pick another process.

    Args:
        args (Sequence[str]): Script and arguments after ``python``.
        mem_limit (int, optional): RSS limit in bytes. Defaults to None.
        timeout (float, optional): Seconds. Defaults to None.
        poll (float): Polling interval in seconds. Defaults to 0.1.

    Returns:
        WorkerOutcome: What happened.
    """
    with tempfile.TemporaryDirectory(prefix='mmfsar_bench_') as tmp:
        result_file = osp.join(tmp, 'result.json')
        log_file = osp.join(tmp, 'log.txt')
        with open(log_file, 'w') as log:
            proc = subprocess.Popen(
                [sys.executable, *args, '--result-file', result_file],
                stdout=log,
                stderr=subprocess.STDOUT)
            start = time.time()
            peak, memory_killed, timed_out = 0, False, False
            while proc.poll() is None:
                rss = _status_bytes('VmRSS', str(proc.pid)) or 0
                peak = max(peak, rss)
                if mem_limit and rss > mem_limit:
                    proc.kill()
                    memory_killed = True
                elif timeout and time.time() - start > timeout:
                    proc.kill()
                    timed_out = True
                time.sleep(poll)
            proc.wait()
        with open(log_file) as f:
            tail = f.read()[-4000:]
        result = None
        if osp.exists(result_file):
            with open(result_file) as f:
                result = json.load(f)
        return WorkerOutcome(result, proc.returncode, peak, memory_killed,
                             timed_out, tail)


def write_result(path: Optional[str], result: dict) -> None:
    """Write a worker's result as JSON (or print it without a path)."""
    text = json.dumps(result)
    if path is None:
        print(text)
        return
    with open(path, 'w') as f:
        f.write(text)


# ------------------------------------------------------------------ table
def format_table(headers: Sequence[str],
                 rows: Sequence[Sequence[object]],
                 num_text_columns: int = 1) -> str:
    """A plain-text table.

    Args:
        headers (Sequence[str]): Column titles.
        rows (Sequence[Sequence]): Cells, converted with ``str``.
        num_text_columns (int): Leading columns aligned left; the others
            (figures) are aligned right. Defaults to 1.
    """
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        return '  '.join(
            cell.ljust(widths[i]) if i <
            num_text_columns else cell.rjust(widths[i])
            for i, cell in enumerate(row)).rstrip()

    lines = [line(cells[0]), '  '.join('-' * w for w in widths)]
    lines += [line(row) for row in cells[1:]]
    return '\n'.join(lines)


def markdown_table(headers: Sequence[str],
                   rows: Sequence[Sequence[object]]) -> str:
    """A GitHub Markdown table; ``|`` inside a cell is escaped."""

    def line(cells):
        return '| ' + ' | '.join(
            str(c).replace('|', '\\|').replace('\n', ' ')
            for c in cells) + ' |'

    out = [line(headers), '|' + '---|' * len(headers)]
    return '\n'.join(out + [line(row) for row in rows])


def verdict(ok: Optional[bool]) -> str:
    """``met``, ``NOT met`` or ``n/a``."""
    if ok is None:
        return 'n/a'
    return 'met' if ok else 'NOT met'


# ------------------------------------------------------------------- data
def split_files(data_root: str, split: str) -> Tuple[str, str]:
    """Annotation and class-name files of ``split`` under ``data_root``.

    Two layouts are recognised: ``DATA_ROOT/<split>.txt`` with
    ``DATA_ROOT/<split>_classes.txt`` (``tools/data/make_synthetic_fsar.py``)
    and the same files under ``DATA_ROOT/annotations/``
    (``build_fsar_annotations.py``, ``mmfsar.testing.make_video_dataset``).
    Video paths in the annotation file are relative to ``data_root``.

    Returns:
        tuple[str, str]: ``(ann_file, classes_file)``.
    """
    for folder in (data_root, osp.join(data_root, 'annotations')):
        ann = osp.join(folder, f'{split}.txt')
        classes = osp.join(folder, f'{split}_classes.txt')
        if osp.isfile(ann) and osp.isfile(classes):
            return ann, classes
    raise FileNotFoundError(
        f'No {split}.txt and {split}_classes.txt in {data_root!r} or '
        f'{osp.join(data_root, "annotations")!r}.')


def find_synthetic_root() -> Optional[str]:
    """The synthetic benchmark under ``data/``, if it was generated."""
    for name in ('synthetic', 'synthetic_fsar'):
        root = osp.join(REPO_ROOT, 'data', name)
        try:
            split_files(root, 'train')
            return root
        except FileNotFoundError:
            continue
    return None
