"""Generate a synthetic few-shot action-recognition benchmark as mp4 videos.

Every class is a motion over time: an object moving left, rotating
clockwise, growing then shrinking, bouncing to the right... Appearance is
drawn per video (shape, colours, size, background texture, position,
speed), so no single frame tells the class. Classes come in order pairs
that visit the same states in a different temporal order (``moving left``
and ``moving right``, ``growing then shrinking`` and ``shrinking then
growing``): the mean frame of a video cannot tell the two apart, the order
of its frames can. Train, val and test classes are disjoint, and so are
their motions; test reuses the primitives in new directions and
compositions.

Output, the layout of ``build_fsar_annotations.py``, with paths relative
to ``--out-dir``::

    DIR/videos/<split>/<class_folder>/<nnnn>.mp4
    DIR/<split>.txt            # videos/<split>/<class>/<nnnn>.mp4 <label>
    DIR/<split>_classes.txt    # line i: readable name of class i

Each video is rendered from its own random generator, seeded by
``(seed, split, class, index)``, so the output does not depend on
``--workers``. The defaults (40 classes: 24 train classes of 60 videos, 6
val and 10 test classes of 30; 16 frames of 64x64) make 1,920 videos, about
11 MB, in seconds on 2 cores.

Example::

    python tools/data/make_synthetic_fsar.py --out-dir data/synthetic_fsar
"""
import argparse
import colorsys
import os
import os.path as osp
import sys
import time
import zlib
from dataclasses import dataclass
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

SPLITS = ('train', 'val', 'test')
DEFAULT_VIDEOS_PER_CLASS = dict(train=60, val=30, test=30)

# (split, class, its program, partner, the partner's program or None for
# "the class played backwards"). A program is a sequence of phases joined
# by ',', each phase a set of primitives played together joined by '+'.
# Explicit partners ('A,B' and 'B,A') replay the same states in another
# order only when both visit the same segment, size or angle range, which
# ``_MotionDraws`` ensures by drawing one length / range per video.
ORDER_PAIRS = (
    ('train', 'moving right', 'right', 'moving left', None),
    ('train', 'moving down', 'down', 'moving up', None),
    ('train', 'moving up and to the right', 'up-right',
     'moving down and to the left', None),
    ('train', 'rotating clockwise', 'cw', 'rotating anticlockwise', None),
    ('train', 'growing', 'grow', 'shrinking', None),
    ('train', 'approaching', 'inward+grow', 'moving away', None),
    ('train', 'bouncing and settling', 'settle', 'bouncing higher and higher',
     None),
    ('train', 'moving right then left', 'right,left', 'moving left then right',
     'left,right'),
    ('train', 'moving right then down', 'right,down', 'moving up then left',
     None),
    ('train', 'growing then moving right', 'grow,right',
     'moving left then shrinking', None),
    ('train', 'moving right while rotating clockwise', 'right+cw',
     'moving left while rotating anticlockwise', None),
    ('train', 'moving in a circle clockwise', 'orbit-cw',
     'moving in a circle anticlockwise', None),
    ('val', 'moving up then down', 'up,down', 'moving down then up',
     'down,up'),
    ('val', 'rotating clockwise while growing', 'cw+grow',
     'rotating anticlockwise while shrinking', None),
    ('val', 'moving up then right', 'up,right', 'moving left then down', None),
    ('test', 'moving up and to the left', 'up-left',
     'moving down and to the right', None),
    ('test', 'moving right then up', 'right,up', 'moving down then left',
     None),
    ('test', 'growing then shrinking', 'grow,shrink', 'shrinking then growing',
     'shrink,grow'),
    ('test', 'moving left while rotating clockwise', 'left+cw',
     'moving right while rotating anticlockwise', None),
    ('test', 'bouncing to the right', 'right+hop', 'bouncing to the left',
     None),
)

# Unit vectors in image coordinates (y points down).
_DIAG = float(np.sqrt(0.5))
DIRECTIONS = {
    'right': (1., 0.),
    'left': (-1., 0.),
    'up': (0., -1.),
    'down': (0., 1.),
    'up-right': (_DIAG, -_DIAG),
    'up-left': (-_DIAG, -_DIAG),
    'down-right': (_DIAG, _DIAG),
    'down-left': (-_DIAG, _DIAG),
}
# Angles grow clockwise on screen, since y points down.
SPINS = {'cw': 1., 'acw': -1.}
SCALINGS = {'grow': 1., 'shrink': -1.}
PRIMITIVES = (
    set(DIRECTIONS) | set(SPINS) | set(SCALINGS)
    | {'inward', 'orbit-cw', 'orbit-acw', 'hop', 'settle'})

# Points of the density grid on which a trajectory is fitted into the
# frame: the fit depends neither on the frame count nor on the direction
# of play.
_FIT_POINTS = 129
_MARGIN = 0.02
# Settling: a fall from the top, two smaller hops, then rest; (height,
# duration) of each part, durations as for a ball under gravity.
_SETTLE_PARTS = ((1., 0.5), (0.4, 0.4**0.5), (0.15, 0.15**0.5), (0., 0.35))


@dataclass(frozen=True)
class MotionClass:
    """A class of the benchmark.

    Args:
        name (str): Readable name, the class's text prompt.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        program (str): Phases joined by ``','``, each a ``'+'``-joined set
            of primitives played together (see ``PRIMITIVES``), e.g.
            ``'right,up'`` or ``'right+cw'``.
        reverse (bool): Play the program backwards. Defaults to False.
        partner (str): Name of the class of its order pair. Defaults to
            ``''``.
    """
    name: str
    split: str
    program: str
    reverse: bool = False
    partner: str = ''

    @property
    def folder(self) -> str:
        """Folder name of the class's videos."""
        return self.name.replace(' ', '_')

    @property
    def phases(self) -> List[List[str]]:
        """The program's phases, each a list of primitives."""
        return [phase.split('+') for phase in self.program.split(',')]


def default_classes() -> List[MotionClass]:
    """All classes, split by split, each next to its order-pair partner."""
    classes = []
    for split, name_a, program_a, name_b, program_b in ORDER_PAIRS:
        classes.append(MotionClass(name_a, split, program_a, False, name_b))
        reverse = program_b is None
        classes.append(
            MotionClass(name_b, split, program_b or program_a, reverse,
                        name_a))
    for cls in classes:
        unknown = {p for phase in cls.phases for p in phase} - PRIMITIVES
        if unknown:
            raise ValueError(f'{cls.name!r} uses unknown primitives '
                             f'{sorted(unknown)}')
    return classes


def order_pairs(classes: Sequence[MotionClass]) -> List[Tuple[str, str]]:
    """``(name, partner)`` of each order pair among ``classes``, once."""
    names = {cls.name for cls in classes}
    return [(cls.name, cls.partner) for cls in classes
            if cls.partner in names and cls.name < cls.partner]


def video_rng(seed: int, split: str, class_name: str,
              index: int) -> np.random.Generator:
    """The random generator of one video, a function of its identity
    alone (not of the order or process in which videos are made)."""
    return np.random.default_rng(
        [seed,
         SPLITS.index(split),
         zlib.crc32(class_name.encode()), index])


# ------------------------------------------------------------- appearance
def _regular_polygon(corners: int, radius: Sequence[float] = (1., )):
    """Unit polygon; ``radius`` cycles over its corners (stars)."""
    angles = np.arange(corners) * 2 * np.pi / corners - np.pi / 2
    radii = np.resize(np.asarray(radius, float), corners)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)


def _cross(width: float = 0.36) -> np.ndarray:
    """Unit plus sign, arms ``2 * width`` wide before normalisation."""
    a, w = 1., width
    return np.array([(w, -a), (w, -w), (a, -w), (a, w), (w, w),
                     (w, a), (-w, a), (-w, w), (-a, w), (-a, -w), (-w, -w),
                     (-w, -a)]) / np.hypot(a, w)


SHAPES = {
    'circle': _regular_polygon(48),
    'square': _regular_polygon(4),
    'triangle': _regular_polygon(3),
    'hexagon': _regular_polygon(6),
    'star': _regular_polygon(10, (1., 0.45)),
    'cross': _cross(),
}


def _polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


# Circumradius per unit size so that every shape has the area of a circle
# of radius 0.9: a size tells nothing about the shape.
EXTENTS = {
    name: 0.9 * float(np.sqrt(np.pi / _polygon_area(points)))
    for name, points in SHAPES.items()
}


def _colour(rng: np.random.Generator, saturation: Tuple[float, float],
            value: Tuple[float, float]) -> np.ndarray:
    hsv = rng.uniform(0, 1), rng.uniform(*saturation), rng.uniform(*value)
    return np.array(colorsys.hsv_to_rgb(*hsv), np.float32) * 255


def _segment_distance(point: np.ndarray, a: np.ndarray,
                      b: np.ndarray) -> float:
    """RGB distance of a colour to the colours between ``a`` and ``b``."""
    along = np.clip(
        np.dot(point - a, b - a) / max(np.dot(b - a, b - a), 1), 0, 1)
    return float(np.linalg.norm(point - a - along * (b - a)))


def _contrasting(rng: np.random.Generator,
                 a: np.ndarray,
                 b: np.ndarray,
                 distance: float,
                 tries: int = 100) -> np.ndarray:
    """A saturated colour at least ``distance`` (RGB) from every blend of
    colours ``a`` and ``b``."""
    for _ in range(tries):
        colour = _colour(rng, (0.5, 1.), (0.35, 1.))
        if _segment_distance(colour, a, b) >= distance:
            return colour
    greys = np.array([[0, 0, 0], [255, 255, 255], [128, 128, 128]], np.float32)
    return max(greys, key=lambda grey: _segment_distance(grey, a, b))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A dark, muted colour of any hue with a light static texture,
    (H, W, 3) float.

    Dark, muted backgrounds under bright, saturated objects keep the scenes
    varied while leaving the object the most salient thing in a frame,
    which a small model trained from random weights needs in order to start
    learning within minutes.
    """
    base = _colour(rng, (0., 0.3), (0.08, 0.4))
    kind = rng.integers(4)
    amplitude = rng.uniform(4, 14)
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, 2 * np.pi)
    along = np.cos(angle) * xx + np.sin(angle) * yy
    cells = int(rng.integers(3, 9))
    noise = rng.standard_normal((cells, cells)).astype(np.float32)
    frequency = rng.uniform(4, 8)
    if kind == 1:  # gradient
        texture = along - along.mean()
    elif kind == 2:  # smooth noise
        texture = cv2.resize(
            noise, (size, size), interpolation=cv2.INTER_CUBIC)
    elif kind == 3:  # stripes
        texture = np.sin(2 * np.pi * along * frequency)
    else:  # plain
        texture = np.zeros((size, size))
    texture = texture / max(np.abs(texture).max(), 1e-6)
    background = base + amplitude * texture[..., None]
    return np.clip(background, 0, 255).astype(np.float32)


@dataclass
class _Appearance:
    shape: np.ndarray  # unit polygon
    extent: float  # circumradius per unit size
    colour: np.ndarray
    marker: np.ndarray
    background: np.ndarray


def _appearance(rng: np.random.Generator, size: int) -> _Appearance:
    background = _background(rng, size)
    mean_bg = background.mean((0, 1))
    colour = _contrasting(rng, mean_bg, mean_bg, 120)
    # Off the line from the background to the object's colour, so that
    # the marker does not look like an anti-aliased edge.
    marker = _contrasting(rng, mean_bg, colour, 100)
    name = list(SHAPES)[rng.integers(len(SHAPES))]
    return _Appearance(SHAPES[name], EXTENTS[name], colour, marker, background)


# ----------------------------------------------------------------- motion
class _MotionDraws:
    """Everything random about a motion, drawn in the same order for every
    class, so that the classes of an order pair share the distributions of
    lengths, ranges and positions."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.radius = rng.uniform(0.12, 0.17)
        self.length = rng.uniform(0.4, 0.6)
        self.inward_length = rng.uniform(0.22, 0.32)
        self.inward_angle = rng.uniform(0, 2 * np.pi)
        self.small_radius = rng.uniform(0.07, 0.09)
        self.large_radius = self.small_radius * rng.uniform(2., 2.6)
        self.angle = rng.uniform(0, 2 * np.pi)
        self.spin = rng.uniform(1.1, 1.7) * np.pi
        self.orbit_radius = rng.uniform(0.18, 0.26)
        self.orbit_start = rng.uniform(0, 2 * np.pi)
        self.orbit_sweep = rng.uniform(1.4, 1.9) * np.pi
        self.hop_height = rng.uniform(0.25, 0.4)
        self.settle_height = rng.uniform(0.35, 0.5)
        self.phase_weights = rng.uniform(0.8, 1.25, size=4)
        self.place = rng.uniform(0, 1, size=2)
        self.centre = 0.5 + rng.uniform(-0.06, 0.06, size=2)


def _settle(p: np.ndarray) -> np.ndarray:
    """Drop of a ball settling, 0 at the top to 1 on the floor."""
    durations = np.array([d for _, d in _SETTLE_PARTS])
    edges = np.concatenate([[0], np.cumsum(durations / durations.sum())])
    height = np.zeros_like(p)
    for i, (peak, _) in enumerate(_SETTLE_PARTS):
        tau = np.clip((p - edges[i]) / (edges[i + 1] - edges[i]), 0, 1)
        inside = (p >= edges[i]) & (p <= edges[i + 1])
        if i == 0:  # the fall from the top
            part = 1 - tau**2
        else:
            part = 4 * peak * tau * (1 - tau)
        height = np.where(inside, part, height)
    return 1 - height


def _phase_delta(primitive: str, p: np.ndarray, draws: _MotionDraws):
    """Change of position (n, 2) in frame widths, growth (n,) in size
    ranges and angle (n,) due to a primitive at progress ``p`` (n,)
    through its phase; zero at ``p = 0``."""
    pos = np.zeros((len(p), 2))
    growth = np.zeros(len(p))
    angle = np.zeros(len(p))
    if primitive in DIRECTIONS:
        pos = p[:, None] * draws.length * np.array(DIRECTIONS[primitive])
    elif primitive == 'inward':
        pos = p[:, None] * draws.inward_length * np.array(
            [np.cos(draws.inward_angle),
             np.sin(draws.inward_angle)])
    elif primitive in SPINS:
        angle = SPINS[primitive] * draws.spin * p
    elif primitive in SCALINGS:
        growth = SCALINGS[primitive] * p
    elif primitive.startswith('orbit'):
        sign = SPINS[primitive.split('-')[1]]
        phi = draws.orbit_start + sign * draws.orbit_sweep * p
        start = np.array(
            [np.cos(draws.orbit_start),
             np.sin(draws.orbit_start)])
        pos = draws.orbit_radius * (
            np.stack([np.cos(phi), np.sin(phi)], 1) - start)
    elif primitive == 'hop':  # two parabolic hops
        tau = np.where(p >= 1, 1., (2 * p) % 1)
        pos[:, 1] = -draws.hop_height * 4 * tau * (1 - tau)
    elif primitive == 'settle':
        pos[:, 1] = draws.settle_height * _settle(p)
    return pos, growth, angle


def _trajectory(cls: MotionClass, draws: _MotionDraws, s: np.ndarray):
    """Unfitted position, growth and angle at times ``s`` in [0, 1].

    A phase adds its primitives' changes over its share of the time; since
    a change is zero at the start of its phase and complete at its end,
    the state at ``s`` is the sum over all phases.
    """
    phases = cls.phases
    weights = draws.phase_weights[:len(phases)]
    edges = np.concatenate([[0], np.cumsum(weights / weights.sum())])
    pos = np.zeros((len(s), 2))
    growth = np.zeros(len(s))
    angle = np.full(len(s), draws.angle)
    for i, phase in enumerate(phases):
        p = np.clip((s - edges[i]) / (edges[i + 1] - edges[i]), 0, 1)
        for primitive in phase:
            d_pos, d_growth, d_angle = _phase_delta(primitive, p, draws)
            pos, growth = pos + d_pos, growth + d_growth
            angle = angle + d_angle
    return pos, growth, angle


def _uses(cls: MotionClass, primitives: Sequence[str]) -> bool:
    return any(p in primitives for phase in cls.phases for p in phase)


def motion_states(cls: MotionClass,
                  rng: np.random.Generator,
                  num_frames: int,
                  extent: float = 1.) -> Tuple[np.ndarray, ...]:
    """Per-frame centre, radius and angle of the object of a video.

    Args:
        cls (MotionClass): The class.
        rng (np.random.Generator): The video's generator, after its
            appearance draws.
        num_frames (int): T.
        extent (float): Circumradius of the shape per unit size.

    Returns:
        tuple[np.ndarray]: Centre (T, 2) and circumradius (T,), in frame
        widths, and angle (T,) in radians, growing clockwise.
    """
    draws = _MotionDraws(rng)
    dense = np.linspace(0, 1, _FIT_POINTS)
    # Integer-exact times, so that a reversed class is exactly the reversed
    # video of its partner with the same generator.
    frame_idx = np.arange(num_frames)
    if cls.reverse:
        frame_idx = frame_idx[::-1]
    times = np.concatenate([dense, frame_idx / max(num_frames - 1, 1)])
    pos, growth, angle = _trajectory(cls, draws, times)
    if _uses(cls, SCALINGS):
        # Linear in the radius, for even steps in small frames.
        growth = growth - growth[:_FIT_POINTS].min()
        size = draws.small_radius + growth * (
            draws.large_radius - draws.small_radius)
    else:
        size = np.full(len(growth), draws.radius)
    radius = size * extent
    # Fit the path into the frame, shrinking it if it does not fit.
    fit_pos, fit_radius = pos[:_FIT_POINTS], radius[:_FIT_POINTS]
    for _ in range(20):
        low = (fit_radius[:, None] - fit_pos).max(0) + _MARGIN
        high = (1 - fit_radius[:, None] - fit_pos).min(0) - _MARGIN
        if (low <= high).all():
            break
        pos, fit_pos = pos * 0.9, fit_pos * 0.9
    high = np.maximum(high, low)
    if _uses(cls, ('inward', )):
        # Approaching ends (moving away starts) near the frame's centre.
        shift = np.clip(draws.centre - fit_pos[-1], low, high)
    else:
        shift = low + draws.place * (high - low)
    pos = pos + shift
    return (pos[_FIT_POINTS:], radius[_FIT_POINTS:], angle[_FIT_POINTS:])


# -------------------------------------------------------------- rendering
def _mask(points: np.ndarray, height: int, width: int) -> np.ndarray:
    """Anti-aliased coverage (H, W, 1) float in [0, 1] of a polygon given in
    pixels."""
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 255,
                 cv2.LINE_AA, 4)
    return mask[..., None].astype(np.float32) / 255


def render_video(cls: MotionClass,
                 rng: np.random.Generator,
                 size: int = 64,
                 frames: int = 16) -> np.ndarray:
    """Render one video of a class.

    The object is a shape of one colour with a third of it, a wedge from
    its centre, in a second colour, so that its rotation shows whatever
    the shape's symmetry.

    Args:
        cls (MotionClass): The class.
        rng (np.random.Generator): The video's generator (see
            :func:`video_rng`).
        size (int): Frame height and width. Defaults to 64.
        frames (int): T. Defaults to 16.

    Returns:
        np.ndarray: RGB frames, shape (T, H, W, 3), uint8.
    """
    look = _appearance(rng, size)
    centres, radii, angles = motion_states(cls, rng, frames, look.extent)
    wedge = np.linspace(-np.pi / 3, np.pi / 3, 13)
    video = np.empty((frames, size, size, 3), np.uint8)
    video[:] = np.round(look.background)
    for t in range(frames):
        centre, radius = centres[t] * size, radii[t] * size
        # Compose in the object's box only: the rest is background.
        x0, y0 = np.maximum(np.floor(centre - radius) - 2, 0).astype(int)
        x1, y1 = np.minimum(np.ceil(centre + radius) + 3, size).astype(int)
        centre = centre - (x0, y0)
        cos, sin = np.cos(angles[t]), np.sin(angles[t])
        rotation = np.array([[cos, -sin], [sin, cos]])
        body = _mask(centre + radius * look.shape @ rotation.T, y1 - y0,
                     x1 - x0)
        arc = 2 * radius * np.stack(
            [np.cos(angles[t] + wedge),
             np.sin(angles[t] + wedge)], 1)
        marked = body * _mask(
            np.vstack([centre, centre + arc]), y1 - y0, x1 - x0)
        box = (
            look.background[y0:y1, x0:x1] * (1 - body) + look.colour *
            (body - marked) + look.marker * marked)
        video[t, y0:y1, x0:x1] = np.clip(np.round(box), 0, 255)
    return video


def write_video(path: str, video: np.ndarray, fps: int = 8) -> None:
    """Encode RGB frames (T, H, W, 3) uint8 as mp4 (OpenCV, mp4v)."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    height, width = video.shape[1:3]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {path}')
    for frame in video:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


# ------------------------------------------------------------- generation
def _make_video(job: tuple) -> str:
    """Pool worker: render and write one video."""
    cls, index, path, seed, size, frames, fps = job
    cv2.setNumThreads(1)
    rng = video_rng(seed, cls.split, cls.name, index)
    write_video(path, render_video(cls, rng, size, frames), fps)
    return path


def generate(out_dir: str,
             seed: int = 0,
             size: int = 64,
             frames: int = 16,
             videos_per_class: Optional[Dict[str, int]] = None,
             workers: int = 2,
             fps: int = 8,
             classes: Optional[Sequence[MotionClass]] = None,
             verbose: bool = True) -> Dict[str, Dict[str, int]]:
    """Write the benchmark's videos and annotation files.

    Existing files of the same names are overwritten.

    Args:
        out_dir (str): Output folder.
        seed (int): Seed of the whole benchmark. Defaults to 0.
        size (int): Frame height and width. Defaults to 64.
        frames (int): Frames per video. Defaults to 16.
        videos_per_class (dict, optional): ``{split: count}``; missing
            splits take ``DEFAULT_VIDEOS_PER_CLASS``.
        workers (int): Processes. Defaults to 2.
        fps (int): Frame rate written in the files. Defaults to 8.
        classes (Sequence[MotionClass], optional): Defaults to
            :func:`default_classes`.
        verbose (bool): Print progress and counts. Defaults to True.

    Returns:
        dict: ``{split: dict(classes=C, videos=V)}``.
    """
    if size < 16 or frames < 2:
        raise ValueError(f'need size >= 16 and frames >= 2, got size={size}'
                         f', frames={frames}')
    counts = dict(DEFAULT_VIDEOS_PER_CLASS, **(videos_per_class or {}))
    os.makedirs(out_dir, exist_ok=True)
    classes = list(classes or default_classes())
    jobs, lines = [], {split: [] for split in SPLITS}
    names = {split: [] for split in SPLITS}
    for cls in classes:
        label = len(names[cls.split])
        names[cls.split].append(cls.name)
        for index in range(counts[cls.split]):
            rel = f'videos/{cls.split}/{cls.folder}/{index:04d}.mp4'
            lines[cls.split].append(f'{rel} {label}')
            jobs.append((cls, index, osp.join(out_dir,
                                              rel), seed, size, frames, fps))
    start = time.time()
    step = max(1, len(jobs) // 10)
    if verbose:
        print(f'rendering {len(jobs)} videos of {len(classes)} classes '
              f'({size}x{size}, {frames} frames) with {workers} worker(s)')
    if workers > 1:
        pool = Pool(workers)
        results = pool.imap_unordered(_make_video, jobs, chunksize=8)
    else:
        pool, results = None, map(_make_video, jobs)
    try:
        for done, _ in enumerate(results, 1):
            if verbose and (done % step == 0 or done == len(jobs)):
                print(
                    f'  {done}/{len(jobs)} videos, '
                    f'{time.time() - start:.1f} s',
                    flush=True)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    if verbose:
        print(f'done in {time.time() - start:.1f} s')
    report = {}
    for split in SPLITS:
        with open(osp.join(out_dir, f'{split}.txt'), 'w') as f:
            f.writelines(line + '\n' for line in lines[split])
        with open(osp.join(out_dir, f'{split}_classes.txt'), 'w') as f:
            f.writelines(name + '\n' for name in names[split])
        report[split] = dict(
            classes=len(names[split]), videos=len(lines[split]))
        if verbose:
            print(f'{split}: {len(names[split])} classes, '
                  f'{len(lines[split])} videos -> '
                  f'{osp.join(out_dir, split + ".txt")}')
    return report


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Generate a synthetic few-shot action-recognition '
        'benchmark whose classes are motions over time.')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--size', type=int, default=64, help='frame height and width')
    parser.add_argument(
        '--frames', type=int, default=16, help='frames per video')
    parser.add_argument('--fps', type=int, default=8)
    for split in SPLITS:
        parser.add_argument(
            f'--{split}-videos',
            type=int,
            default=DEFAULT_VIDEOS_PER_CLASS[split],
            help=f'videos per {split} class')
    parser.add_argument('--workers', type=int, default=2, help='processes')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the tool; returns the exit status."""
    args = parse_args(argv)
    generate(
        args.out_dir,
        seed=args.seed,
        size=args.size,
        frames=args.frames,
        videos_per_class={
            split: getattr(args, f'{split}_videos')
            for split in SPLITS
        },
        workers=max(1, args.workers),
        fps=args.fps)
    return 0


if __name__ == '__main__':
    sys.exit(main())
