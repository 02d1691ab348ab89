"""``mojinet serve [MODEL]``: start the draw page on a local web server.

With no MODEL it uses the default model file (``mojinet-mnist.npz``, what ``mojinet train``
writes) if there is one, and otherwise trains the chapter's network first (``runner.run`` with
``DEFAULT_CONFIG``) and saves it there, so the next start is instant.

This module imports FastAPI and uvicorn only when the command runs, so the rest of the CLI works
without the ``web`` extra.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

from ..presets import PRESETS
from ..runner import run

DEFAULT_MODEL = "mojinet-mnist.npz"
DEFAULT_PORT = 8000
#: The run serve makes when it has to train the default network: exactly what ``mojinet train``
#: makes (the chapter's 784-16-16-10 on all of MNIST, about a minute on one core; tests shorten it).
DEFAULT_CONFIG = PRESETS["chapter"].config


class ServeError(ValueError):
    """The server cannot start; the message says what to do."""


def add_parser(sub) -> argparse.ArgumentParser:
    s = sub.add_parser(
        "serve", help="a web page where the network reads what you draw",
        description="Start a local web server with a page to draw on: the network reads the "
        "drawing live and shows every layer's activations. Needs the web extra "
        "(pip install 'mojinet[web]').",
    )
    s.add_argument("model", nargs="?", default=None,
                   help=f"model file (default: {DEFAULT_MODEL}, trained first if missing)")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 exposes the page to "
                   "your network)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port (default {DEFAULT_PORT}; 0 = any free port)")
    s.add_argument("--max-body", type=int, default=1_000_000, metavar="BYTES",
                   help="largest request body accepted (default 1000000)")
    s.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer requests whose Host header is NAME (repeatable; e.g. a "
                   "name this machine has on your network, or a proxy's). By default only the "
                   "--host address (and localhost for a loopback one) is answered, against DNS "
                   "rebinding; * answers any")
    s.add_argument("--decode-slots", type=int, default=2, metavar="N",
                   help="drawings decoded at once (default 2; each large drawing needs up to "
                   "~140 MB while decoded); more wait, then get 503")
    s.add_argument("--workers", type=int, default=1, metavar="N",
                   help="server processes sharing the port (default 1; e.g. the number of "
                   "cores, for many clients at once: each answers requests on its own); more "
                   "than 1 needs --no-samples, as learn my hand adapts the model of one process")
    s.add_argument("--reference-preprocessing", action="store_true",
                   help="read every drawing with the reference preprocessing (the photo and "
                   "scan pipeline), never the fast path for clean canvases; the answers are "
                   "the same, each takes more work (for comparisons)")
    s.add_argument("--samples", metavar="DIR", default=None,
                   help="learn my hand: save corrected drawings under DIR (one folder per "
                   "model class set) and adapt the model to them from the page (default: "
                   "mojinet's folder of your user data, e.g. ~/.local/share/mojinet/samples)")
    s.add_argument("--no-samples", action="store_true",
                   help="turn learn my hand off: save nothing, no adapting")
    s.add_argument("--open", action="store_true", help="open the page in a web browser")
    s.add_argument("--model", dest="model_name", metavar="NAME",
                   help="a model that ships with mojinet (`mojinet models`), e.g. kanji")
    s.set_defaults(func=cmd_serve)
    return s


def _default_model() -> Path:
    """The default model file, training it first (and saying so) if it does not exist yet."""
    path = Path(DEFAULT_MODEL)
    if path.is_file():
        return path
    def say(text: str) -> None:
        print(text, flush=True)

    config = DEFAULT_CONFIG.replace(out=str(path))
    say(f"No model given and no {DEFAULT_MODEL} here: training the default network first "
        f"(`mojinet train`: 784-16-16-10 on MNIST, {config.epochs} epochs, about a minute). It "
        f"is saved to {path}, so next time the page starts at once.")
    run(config, log=say)
    return path


def _listen(host: str, port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise ServeError(f"--port must be between 0 and 65535, got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ServeError(f"cannot resolve --host {host!r} ({e.strerror})") from e
    family, kind, proto, _, address = infos[0]
    # proto must be IPPROTO_TCP (as getaddrinfo gives), not 0: asyncio only sets TCP_NODELAY on
    # connections whose socket says so, and without it every response waits ~40 ms for a
    # delayed ACK (Nagle), as headers and body go out in two writes.
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as e:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port} ({e.strerror}); is another server "
                         f"running there? Pick another port with --port (0 = any free one)") from e
    return sock


def cmd_serve(args) -> int:
    try:
        from .app import create_app
        from .guard import allowed_hosts
        from .server import make_server, serve_workers
    except ImportError as e:
        raise ServeError(f"mojinet serve needs FastAPI and uvicorn ({e}); install them with "
                         f"pip install 'mojinet[web]'") from e
    from ..io import load_model

    if args.max_body < 1000:
        raise ServeError(f"--max-body {args.max_body} is too small for a drawing; use at least "
                         f"1000 bytes (the default is 1000000)")
    if args.decode_slots < 1:
        raise ServeError(f"--decode-slots must be at least 1, got {args.decode_slots}")
    if not 1 <= args.workers <= 64:
        raise ServeError(f"--workers must be between 1 and 64, got {args.workers}")
    if args.workers > 1 and not args.no_samples:
        raise ServeError(f"--workers {args.workers} needs --no-samples: learn my hand adapts the "
                         f"model inside one process, so the other workers would go on answering "
                         f"with the old one; serve with --workers 1 to learn your hand")
    if args.model and args.model_name:
        raise ServeError("give the model once: as MODEL or as --model NAME, not both")
    from ..models import model_path

    chosen = args.model or args.model_name
    path = model_path(chosen) if chosen else _default_model()
    model = load_model(path)
    samples = None
    if not args.no_samples:
        from .learn import default_samples_root

        samples = Path(args.samples).expanduser() if args.samples else default_samples_root()

    def make_app():
        return create_app(model, name=path.name, max_body=args.max_body,
                          hosts=allowed_hosts(args.host, args.allow_host),
                          decode_slots=args.decode_slots, model_path=path, samples=samples,
                          reference_preprocessing=args.reference_preprocessing)

    app = make_app() if args.workers == 1 else None  # workers make their own, after the fork
    sock = _listen(args.host, args.port)
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    if args.host in ("0.0.0.0", "::"):
        print("Note: listening on every network interface; anyone who can reach this machine can "
              "use the page.", file=sys.stderr, flush=True)
        shown = "127.0.0.1"
    url = f"http://{shown}:{port}/"
    workers = f", {args.workers} worker processes" if args.workers > 1 else ""
    print(f"mojinet: serving {path} ({'-'.join(map(str, model.network.sizes))}, "
          f"{len(model.classes)} classes{workers}) at {url}  — press Ctrl+C to stop", flush=True)
    if samples is not None:
        print(f"Learn my hand: corrected drawings are saved under {samples}", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    try:
        if app is not None:
            make_server(app).run(sockets=[sock])
        else:
            serve_workers(make_app, sock, args.workers)
    finally:
        sock.close()
    return 0
