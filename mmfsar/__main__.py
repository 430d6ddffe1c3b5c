# Copyright (c) mmfsar contributors. All rights reserved.
"""``python -m mmfsar config [NAME]``: where mmfsar's configs are.

Without NAME it prints the configs folder; with NAME (e.g.
``clip_fsar_hmdb51_5shot.py``) the absolute path of that config, to put in
the ``_base_`` of a config in another codebase.
"""
import argparse
import sys

from mmfsar.utils.config import config_dir, config_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='python -m mmfsar')
    commands = parser.add_subparsers(dest='command', required=True)
    config = commands.add_parser(
        'config',
        help="print the path of mmfsar's configs folder or of one "
        'config')
    config.add_argument(
        'name', nargs='?', help='a config relative to the configs folder')
    args = parser.parse_args(argv)
    try:
        print(config_path(args.name) if args.name else config_dir())
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
