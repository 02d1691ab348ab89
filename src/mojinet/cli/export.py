"""``mojinet export MODEL --onnx FILE | --web DIR``: a model for other runtimes or static hosting.

The export code is in ``mojinet/export/``.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from .printer import CLIError, say


def add_parser(sub) -> argparse.ArgumentParser:
    e = sub.add_parser(
        "export", help="write a model as ONNX, or as a static draw page",
        description="Export a trained model: --onnx FILE writes an ONNX graph (float32; class "
        "labels and preprocessing in its metadata) for onnxruntime and other runtimes; --web DIR "
        "writes the draw page as static files that run the network in the browser, for any "
        "static file host (e.g. python -m http.server -d DIR). ONNX needs the export extra "
        "(pip install 'mojinet[export]').")
    e.add_argument("model", help="a mojinet model file (.npz)")
    e.add_argument("--onnx", metavar="FILE", help="write the network as an ONNX file")
    e.add_argument("--web", metavar="DIR", help="write the static draw page into this folder")
    e.set_defaults(func=cmd_export)
    return e


def cmd_export(args) -> int:
    from ..io import load_model
    from ..models import model_path

    if not args.onnx and not args.web:
        raise CLIError("say what to write: --onnx FILE, --web DIR, or both")
    from ..export import refuse_features

    model = load_model(model_path(args.model))  # a file, or a shipped model's name
    try:
        refuse_features(model, "an ONNX graph" if args.onnx else "the static draw page")
    except ValueError as e:
        raise CLIError(f"{args.model}: {e}") from e
    sizes = "-".join(map(str, model.network.sizes))
    if args.onnx:
        if importlib.util.find_spec("onnx") is None:
            raise CLIError("--onnx needs the onnx package; install it with pip install "
                           "'mojinet[export]'")
        from ..export.onnx import export_onnx

        path = export_onnx(model, args.onnx)
        say(f"Wrote {path} ({sizes}, {len(model.classes)} classes; ONNX opset 17, "
            f"{path.stat().st_size:,} bytes)")
    if args.web:
        from ..export.web import export_web

        files = export_web(model, args.web, name=Path(args.model).name)
        total = sum(f.stat().st_size for f in files)
        say(f"Wrote the draw page for {sizes} to {args.web} ({len(files)} files, {total:,} "
            f"bytes). Serve the folder with any static host, e.g. python -m http.server -d "
            f"{args.web}")
    return 0
