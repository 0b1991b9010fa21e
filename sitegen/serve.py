"""Preview server: build, serve under the base path, rebuild on change, reload the browser."""

from __future__ import annotations

import json
import mimetypes
import queue
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from urllib.parse import quote, unquote, urlsplit

import watchfiles

from sitegen.build import build
from sitegen.config import CONFIG_NAME, DEFAULT_HOST, DEFAULT_PORT, Config, load_config
from sitegen.errors import SitegenError

VERSION_PATH = "/__sitegen/version"
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
# The live-reload client: polls the version the server bumps after each good build, shows a
# failed build's message over the page, and reloads once a newer build is served.
_RELOAD_JS = """<script>/* sitegen serve: live reload */(() => {
  const seen = %d;
  let box = null;
  const poll = async () => {
    try {
      const state = await (await fetch("%s", {cache: "no-store"})).json();
      if (state.version !== seen) { location.reload(); return; }
      if (state.error && !box) {
        box = document.createElement("pre");
        box.style.cssText = "position:fixed;inset:auto 0 0 0;margin:0;padding:1em;z-index:99999;"
          + "background:#fee;color:#900;border-top:3px solid #900;white-space:pre-wrap";
        document.body.append(box);
      }
      if (box) { box.textContent = state.error || ""; box.hidden = !state.error; }
    } catch (err) { /* the server is restarting */ }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 1000);
})();</script>
"""


@dataclass
class BuildState:
    """The number of the build being served and the last build's error, shared with requests."""

    version: int = 0
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def succeeded(self) -> None:
        with self.lock:
            self.version += 1
            self.error = ""

    def failed(self, message: str) -> None:
        with self.lock:
            self.error = message

    def snapshot(self) -> tuple[int, str]:
        with self.lock:
            return self.version, self.error


def local_base_url(base_url: str, host: str, port: int) -> str:
    """The site's base path, on the local server, so feeds and canonical links work in preview."""
    path = urlsplit(base_url).path or "/"
    netloc = f"[{host}]" if ":" in host else host
    return f"http://{netloc}:{port}{path}"


def inject_reload(html: bytes, version: int) -> bytes:
    """The page with the live-reload script before its last `</body>` (appended if none)."""
    script = (_RELOAD_JS % (version, VERSION_PATH)).encode("utf-8")
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return html + script
    at = ends[-1].start()
    return html[:at] + script + html[at:]


class PreviewServer(ThreadingHTTPServer):
    """Serves the output folder under the base path; the folder may be swapped between requests."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], root: Path, base_path: str, state: BuildState
    ) -> None:
        super().__init__(address, _Handler)
        self.root = root
        self.base_path = base_path
        self.state = state
        self.verbose = False


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    server_version = "sitegen-serve"

    def do_GET(self) -> None:
        self._respond(with_body=True)

    def do_HEAD(self) -> None:
        self._respond(with_body=False)

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, ctype: str, with_body: bool, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _redirect(self, location: str, with_body: bool) -> None:
        self._send(302, b"", "text/plain; charset=utf-8", with_body, Location=location)

    def _respond(self, with_body: bool) -> None:
        parts = urlsplit(self.path)
        path, base = parts.path, self.server.base_path
        if path == VERSION_PATH:
            version, error = self.server.state.snapshot()
            body = json.dumps({"version": version, "error": error}).encode("utf-8")
            self._send(200, body, "application/json", with_body)
            return
        if not path.startswith(base):
            if path in ("/", base.rstrip("/")):
                self._redirect(base, with_body)
            else:
                self._not_found(with_body)
            return
        rel = unquote(path[len(base) :])
        pieces = [p for p in rel.split("/") if p]
        if any(p in (".", "..") or "\\" in p or "\0" in p for p in pieces):
            self._not_found(with_body)
            return
        file = self.server.root.joinpath(*pieces)
        if file.is_dir():
            if not path.endswith("/"):
                query = f"?{parts.query}" if parts.query else ""
                self._redirect(quote(path + "/") + query, with_body)
                return
            file = file / "index.html"
        if not file.is_file():
            self._not_found(with_body)
            return
        self._send_file(200, file, with_body)

    def _not_found(self, with_body: bool) -> None:
        page = self.server.root / "404.html"
        if page.is_file():
            self._send_file(404, page, with_body)
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8", with_body)

    def _send_file(self, status: int, file: Path, with_body: bool) -> None:
        try:
            data = file.read_bytes()
        except OSError:  # swapped out by a rebuild between the check and the read
            self._send(503, b"rebuilding\n", "text/plain; charset=utf-8", with_body)
            return
        ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if ctype == "text/html":
            data = inject_reload(data, self.server.state.snapshot()[0])
        if ctype.startswith("text/") or ctype in ("application/xml", "application/json"):
            ctype += "; charset=utf-8"
        self._send(status, data, ctype, with_body)


def watched_roots(config: Config, config_file: Path) -> list[Path]:
    """Files and folders whose change means a rebuild (the output folder is never one)."""
    return [
        config.seeds_dir,
        config.content_dir,
        config.root / "themes",
        config.templates_dir,
        config.root / "static",
        config_file,
        *([config.taxonomy] if config.taxonomy else []),
    ]


class _SourceFilter(watchfiles.DefaultFilter):
    """Passes changes under the watched roots, minus dot-files (editor and sitegen temp files)."""

    def __init__(self, roots: list[Path]) -> None:
        super().__init__()
        self.roots = [r.resolve() for r in roots]

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        file = Path(path).resolve()
        if file.name.startswith(".") or not super().__call__(change, path):
            return False
        return any(file == r or r in file.parents for r in self.roots)


class _Watcher:
    """Batches of changed source paths: folders watched deeply, files through their folder."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = sorted({r.resolve() for r in roots})
        self.filter = _SourceFilter(self.roots)
        self.queue: queue.Queue[set[str]] = queue.Queue()

    def _plan(self) -> tuple[list[Path], list[Path]]:
        deep = [r for r in self.roots if r.is_dir()]
        # A file is watched through its folder, which sees an editor's save-by-rename; a folder
        # that does not exist yet, through its parent, which sees it appear.
        parents = {r.parent for r in self.roots if not r.is_dir() and r.parent.is_dir()}
        return deep, sorted(parents - set(deep))

    def _pump(self, paths: list[Path], recursive: bool, stop: threading.Event) -> None:
        for batch in watchfiles.watch(
            *paths,
            watch_filter=self.filter,
            debounce=300,
            recursive=recursive,
            stop_event=stop,
            raise_interrupt=False,
        ):
            self.queue.put({p for _, p in batch})

    def batches(self) -> Iterator[set[str]]:
        """Blocks until something changes; restarts its watches when a watched folder appears."""
        appeared: set[str] = set()
        while True:
            plan = self._plan()
            stop = threading.Event()
            for paths, recursive in ((plan[0], True), (plan[1], False)):
                if paths:
                    args = (paths, recursive, stop)
                    threading.Thread(target=self._pump, args=args, daemon=True).start()
            try:
                if appeared:  # a new folder (e.g. templates/) counts as a change once watched
                    yield appeared
                while (current := self._plan()) == plan:
                    try:
                        batch = self.queue.get(timeout=0.5)
                    except queue.Empty:
                        continue
                    while not self.queue.empty():
                        batch |= self.queue.get_nowait()
                    yield batch
                appeared = {str(p) for p in set(current[0]) - set(plan[0])}
            finally:
                stop.set()


def _say(line: str) -> None:
    print(line, flush=True)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(
    config_path: Path | None,
    *,
    base_url: str | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    verbose: bool = False,
    say: Callable[[str], None] | None = None,
) -> None:
    """Build, serve and rebuild on change until interrupted; the first build must succeed."""
    say = say or _say
    first = load_config(config_path, base_url=base_url)
    config_file = config_path.resolve() if config_path else first.root / CONFIG_NAME
    state = BuildState()
    try:
        server = PreviewServer((host, port), Path(), "/", state)
    except OSError as exc:
        raise SitegenError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="choose another --port, or --port 0 for any free one",
        ) from None
    workdir = Path(tempfile.mkdtemp(prefix="sitegen-serve-"))
    serving = False
    try:
        url = local_base_url(first.base_url, host, server.server_address[1])
        output = workdir / "site"
        server.root, server.base_path, server.verbose = output, urlsplit(url).path, verbose

        def rebuild() -> None:
            start = time.perf_counter()
            # Re-read the config too: a change to sitegen.toml must show in the preview.
            config = load_config(config_path, root=first.root, base_url=url, output_dir=output)
            report = build(config)
            for warning in report.warnings:
                say(str(warning))
            took = (time.perf_counter() - start) * 1000
            say(f"built {report.papers} papers in {took:.0f} ms, {report.changed} files changed")

        rebuild()
        state.succeeded()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _raise_interrupt)
        threading.Thread(target=server.serve_forever, name="sitegen-serve", daemon=True).start()
        serving = True
        say(f"serving {url} (Ctrl+C to stop)")
        for changes in _Watcher(watched_roots(first, config_file)).batches():
            names = sorted(first.relative(Path(p)) for p in changes)
            say(f"changed: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}")
            try:
                rebuild()
            except SitegenError as exc:
                state.failed(str(exc))
                print(f"error: {exc}", file=sys.stderr, flush=True)
            else:
                state.succeeded()
    except KeyboardInterrupt:
        say("stopped")
    finally:
        if serving:
            server.shutdown()
        server.server_close()
        shutil.rmtree(workdir, ignore_errors=True)
