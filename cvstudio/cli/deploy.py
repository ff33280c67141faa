"""`cvstudio export` and `cvstudio predict`: a trained network to ONNX, and images classified with it."""

from __future__ import annotations

import argparse
import sys

from cvstudio.cli.exit_codes import EXIT_ERROR, EXIT_USAGE
from cvstudio.cli.progress import ProgressPrinter


def cmd_export(args: argparse.Namespace) -> int:
    from cvstudio.core.export import TOLERANCE, export_run
    from cvstudio.plugins import load_registry

    result = export_run(args.run_dir, load_registry(), args.output, args.pipeline)
    print(f"exported {result.pipeline!r} to {result.path} ({result.exporter} exporter)")
    print(f"verified on {result.verified_on}: max |ONNX Runtime - torch| = {result.max_abs_diff:.2g} "
          f"(limit {TOLERANCE:g})")
    if result.notice:
        print(f"note: {result.notice}", file=sys.stderr)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Classify images as they are decoded: each batch's lines printed and CSV rows written as it finishes."""
    import contextlib

    from cvstudio.core.inference import Predictor
    from cvstudio.core.inference_jobs import NO_IMAGES, CsvWriter, count_images, iter_images, predict_stream
    from cvstudio.core.preprocessing import PreprocessingConfig
    from cvstudio.core.tasks import Progress, TaskState

    if args.topk < 1 or args.batch_size < 1:
        print("error: --topk and --batch-size must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    preprocessing = PreprocessingConfig.load(args.config) if args.config else None
    predictor = Predictor(args.model, args.provider, preprocessing, args.labels)
    if predictor.notice:
        print(f"warning: {predictor.notice}", file=sys.stderr)
    print(f"{args.model.name}: {predictor.describe()}", file=sys.stderr)
    total = count_images(args.images)
    if not total:
        print(f"error: {NO_IMAGES}", file=sys.stderr)
        return EXIT_ERROR
    printer, lines, done, failed = ProgressPrinter(sys.stderr), [], 0, 0
    results = predict_stream(predictor, iter_images(args.images), TaskState(), args.topk, args.batch_size)
    with CsvWriter(args.csv, args.topk) if args.csv else contextlib.nullcontext() as table:
        for result in results:
            done += 1
            if result.prediction is None:
                failed += 1
                lines.append(f"{result.path}\terror: {result.error}\n")
            else:
                lines.append(f"{result.path}\t" + "\t".join(f"{label} {p:.3f}" for label, p in result.prediction.top)
                             + "\n")
            if table is not None:
                table.write(result)
            if len(lines) == args.batch_size or done == total:
                sys.stdout.write("".join(lines))
                lines.clear()
                printer.show(Progress("inference", "images", done, total))
        sys.stdout.write("".join(lines))
    printer.finish_line()
    if failed:
        print(f"{failed} of {done} file(s) could not be read", file=sys.stderr)
    return EXIT_ERROR if failed == done else 0
