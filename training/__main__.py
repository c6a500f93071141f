"""``python -m training <config.yaml> [key=value ...]`` (one device), or under ``accelerate launch``:

    accelerate launch --config_file training/configs/deepspeed_zero2.yaml -m training <config.yaml>

Overrides are dotted keys parsed as YAML: ``optim.epochs=1 run.save_steps=50 output_dir=runs/x``.
"""
from __future__ import annotations

import argparse
import sys

from training import config as config_mod


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", help="a training config (training/configs/*.yaml)")
    parser.add_argument("overrides", nargs="*", help="dotted.key=value overrides")
    parser.add_argument("--print-defaults", action="store_true", help="print every config key with its default")
    parser.add_argument("--check", action="store_true", help="validate the config and the data, then stop")
    args = parser.parse_intermixed_args(argv)
    if args.print_defaults:
        print(config_mod.dump(config_mod.TrainConfig()), end="")
        return 0
    if not args.config:
        parser.error("a config file is required")
    cfg = config_mod.load(args.config, args.overrides)
    if args.check:
        import logging

        from training import data

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        ds = data.build(cfg.data, cfg.config_path)
        print(f"config OK: {len(ds.train)} train / {len(ds.validation)} validation records; "
              f"evaluation files allowed: {[o.file for o in ds.overlaps] or 'none'}")
        return 0
    from training.trainer import train

    train(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
