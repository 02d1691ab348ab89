"""``mojinet datasets``: the datasets mojinet can load, their size, source, credit and whether
they are on this machine already. Thin: reads the registry, prints."""

from __future__ import annotations

from ..data.fetch import CACHE_ENV, cache_dir, dataset_cache, is_cached
from ..data.registry import DatasetSpec, available_datasets, get_spec
from .printer import say, say_json


def cache_state(spec: DatasetSpec) -> str:
    """"bundled", "your files", "cached", "partly cached (k of n files)" or "not cached"."""
    if spec.name == "mnist":
        return "bundled"
    if spec.needs_data_dir:
        return "your files (--data-dir)"
    if spec.is_cached is not None:
        return "cached" if spec.is_cached() else "not cached"
    if not spec.files:
        return "nothing to download"
    done = sum(is_cached(spec.name, f) for f in spec.files)
    if done == len(spec.files):
        return "cached"
    return f"partly cached ({done} of {len(spec.files)} files)" if done else "not cached"


def describe(spec: DatasetSpec) -> dict:
    return {
        "name": spec.name,
        "description": spec.description,
        "classes": spec.n_classes,
        "image_shape": list(spec.image_shape) if spec.image_shape else None,
        "sizes": spec.sizes,
        "splits": list(spec.splits),
        "license": spec.license,
        "homepage": spec.homepage,
        "files": [{"name": f.name, "checksum": f.known_hash, "size": f.size,
                   "urls": list(f.urls)} for f in spec.files],
        "credit": spec.credit,
        "state": cache_state(spec),
        "cache": str(dataset_cache("emnist" if spec.name.startswith("emnist-") else spec.name)),
    }


def cmd_datasets(args) -> int:
    specs = [get_spec(args.name)] if args.name else list(available_datasets().values())
    infos = [describe(s) for s in specs]
    if args.json:
        say_json(infos)
        return 0
    say(f"cache: {cache_dir()}  (set ${CACHE_ENV} to move it)\n")
    for d in infos:
        shape = "×".join(map(str, d["image_shape"])) if d["image_shape"] else "?"
        sizes = ", ".join(f"{k} {v:,}" for k, v in d["sizes"].items()) or "?"
        say(f"{d['name']}: {d['description']}")
        say(f"  {d['classes'] or '?'} classes, {shape} images; {sizes}; splits "
              f"{'/'.join(d['splits'])}; {d['state']}")
        if d["license"]:
            say(f"  license: {d['license']}" + (f"; {d['homepage']}" if d["homepage"] else ""))
        if args.name or args.verbose:
            for f in d["files"]:
                size = f"{f['size']:,} bytes, " if f["size"] else ""
                say(f"  file {f['name']} ({size}{f['checksum']})")
                for u in f["urls"]:
                    say(f"    {u}")
        say(f"  credit: {d['credit']}\n")
    return 0


def add_parser(sub) -> None:
    d = sub.add_parser("datasets", help="list the datasets: size, source, credit, cached or not")
    d.add_argument("name", nargs="?", help="show one dataset, with its files and mirrors")
    d.add_argument("-v", "--verbose", action="store_true", help="show files and mirrors of all")
    d.add_argument("--json", action="store_true", help="print JSON")
    d.set_defaults(func=cmd_datasets)
