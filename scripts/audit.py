#!/usr/bin/env python3
"""Audit the built seed site: vnu (HTML), Lighthouse (mobile scores) and axe-core (a11y)."""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sitegen.build import build  # noqa: E402
from sitegen.config import load_config  # noqa: E402

TOOLS_DIR = Path(os.environ.get("SITEGEN_AUDIT_TOOLS", Path.home() / ".cache" / "sitegen-audit"))
# Lighthouse 13 needs Node 22 and 12.2 fails audits with current Chromium: 12.8.x it is.
NPM_PACKAGES = ["lighthouse@~12.8.0", "@axe-core/cli@4", "vnu-jar"]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Twin of CHROMIUM_ARGS in tests/browser/support.py (this script runs without the test
# package on its path): keep the two lists in step.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = {
    "home": "",
    "paper": "papers/introducing-visual-perception-token-into-multimodal-large-language-model/",
    "tag": "tags/multilingual/",
}
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
MIN_SCORE = 95


def install_tools() -> Path:
    """The npm tools in a private prefix; the npm chromedriver download is skipped (no access)."""
    bin_dir = TOOLS_DIR / "node_modules" / ".bin"
    if (
        not all((bin_dir / name).exists() for name in ("lighthouse", "axe"))
        or not vnu_jar().exists()
    ):
        TOOLS_DIR.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CHROMEDRIVER_SKIP_DOWNLOAD": "true", "PUPPETEER_SKIP_DOWNLOAD": "1"}
        subprocess.run(
            [
                *("npm", "install", "--prefix", str(TOOLS_DIR)),
                *("--no-audit", "--no-fund", "--silent", *NPM_PACKAGES),
            ],
            check=True,
            env=env,
        )
    return bin_dir


def vnu_jar() -> Path:
    return TOOLS_DIR / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def build_site(work: Path, base_url: str) -> Path:
    shutil.copy2(REPO / "sitegen.toml", work / "sitegen.toml")
    shutil.copytree(REPO / "seeds", work / "seeds")
    config = load_config(root=work, base_url=base_url, environ={})
    build(config)
    return config.output_dir


def run_vnu(site: Path) -> int:
    """Errors the Nu HTML Checker reports over every HTML file of the site."""
    result = subprocess.run(
        ["java", "-jar", str(vnu_jar()), "--skip-non-html", "--format", "json", str(site)],
        capture_output=True,
        text=True,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    errors = [m for m in messages if m.get("type") == "error"]
    for m in errors[:20]:
        print(f"  vnu: {m.get('url', '')}:{m.get('lastLine', '')}: {m.get('message')}")
    return len(errors)


def run_lighthouse(bin_dir: Path, url: str, out: Path) -> dict[str, int]:
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    subprocess.run(
        [
            str(bin_dir / "lighthouse"),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={out}",
            f"--chrome-flags={' '.join(CHROMIUM_FLAGS)}",
            f"--only-categories={','.join(CATEGORIES)}",
        ],
        check=True,
        env=env,
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    for name in CATEGORIES:  # say why a category lost points
        for ref in report["categories"][name]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref["weight"] > 0 and audit.get("score") is not None and audit["score"] < 1:
                print(f"  lighthouse {url}: {name}: {audit['id']}: {audit['title']}")
    return scores


def run_axe(bin_dir: Path, urls: list[str], out_dir: Path) -> dict[str, int]:
    options = ",".join(f.lstrip("-") for f in CHROMIUM_FLAGS)
    subprocess.run(
        [
            str(bin_dir / "axe"),
            *urls,
            "--chromedriver-path",
            CHROMEDRIVER,
            "--chrome-path",
            CHROMIUM,
            "--chrome-options",
            options,
            "--dir",
            str(out_dir),
            "--save",
            "axe.json",
            "--no-reporter",
        ],
        check=True,
        capture_output=True,
    )
    results = json.loads((out_dir / "axe.json").read_text(encoding="utf-8"))
    counts = {}
    for result in results:
        counts[result["url"]] = len(result["violations"])
        for v in result["violations"]:
            print(f"  axe {result['url']}: {v['id']}: {v['help']} ({len(v['nodes'])} nodes)")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-lighthouse", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "test-artifacts" / "audit")
    args = parser.parse_args()
    bin_dir = install_tools()
    args.out.mkdir(parents=True, exist_ok=True)
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        # Build for the server's own URL so canonical and feed links resolve in the browser.
        probe = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        port = probe.server_address[1]
        probe.server_close()
        site = build_site(Path(tmp), f"http://127.0.0.1:{port}/")
        handler = functools.partial(_Handler, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{port}/"
        try:
            html_files = len(list(site.rglob("*.html")))
            errors = run_vnu(site)
            print(f"vnu: {errors} errors over {html_files} HTML files")
            failed |= errors > 0
            counts = run_axe(bin_dir, [base + p for p in PAGES.values()], args.out)
            for name, path in PAGES.items():
                print(f"axe {name}: {counts.get(base + path, -1)} violations")
            failed |= any(c != 0 for c in counts.values())
            if not args.skip_lighthouse:
                for name, path in PAGES.items():
                    scores = run_lighthouse(
                        bin_dir, base + path, args.out / f"lighthouse-{name}.json"
                    )
                    line = "  ".join(f"{c} {s}" for c, s in scores.items())
                    print(f"lighthouse {name} (mobile): {line}")
                    failed |= min(scores.values()) < MIN_SCORE
        finally:
            server.shutdown()
            server.server_close()
    print("audit:", "FAILED" if failed else "passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
