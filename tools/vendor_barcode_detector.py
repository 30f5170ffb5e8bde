"""Fetch the pinned Barcode Detection API polyfill into the web app's static files.

The scan console (``/scan``) uses the browser's own ``BarcodeDetector`` where there is one
(Chrome on Android, Safari 17+ on iOS with the flag, ChromeOS, macOS); elsewhere it loads
``barcode-detector`` (ZXing-C++ compiled to WebAssembly). Both are served by the app itself,
never from a CDN: this script downloads the two npm tarballs from the registry, checks them
against the registry's integrity hashes, and copies the IIFE ponyfill, the reader's ``.wasm``
and both licences to ``src/testrota/web/static/vendor/barcode-detector/``.

    python tools/vendor_barcode_detector.py        # then commit the files it wrote

Bump the versions here (and in VERSIONS.txt, which this writes) to upgrade.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
PACKAGES = {"barcode-detector": "3.2.2", "zxing-wasm": "3.1.3"}
FILES = {
    ("barcode-detector", "package/dist/iife/ponyfill.js"): "ponyfill.js",
    ("barcode-detector", "package/LICENSE"): "LICENSE.barcode-detector",
    ("zxing-wasm", "package/dist/reader/zxing_reader.wasm"): "zxing_reader.wasm",
    ("zxing-wasm", "package/LICENSE"): "LICENSE.zxing-wasm",
}
TARGET = (
    Path(__file__).resolve().parents[1] / "src/testrota/web/static/vendor/barcode-detector"
)


def fetch(name: str, version: str) -> tarfile.TarFile:
    with urllib.request.urlopen(f"{REGISTRY}/{name}/{version}", timeout=60) as r:
        meta = json.load(r)
    with urllib.request.urlopen(meta["dist"]["tarball"], timeout=120) as r:
        data = r.read()
    algorithm, expected = meta["dist"]["integrity"].split("-", 1)
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise SystemExit(f"{name}@{version}: the tarball does not match the registry's hash")
    return tarfile.open(fileobj=io.BytesIO(data))


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, version in PACKAGES.items():
        archive = fetch(name, version)
        for (package, member), target in FILES.items():
            if package != name:
                continue
            extracted = archive.extractfile(member)
            assert extracted is not None, member
            data = extracted.read()
            (TARGET / target).write_bytes(data)
            lines.append(f"{target}  {name}@{version}  sha256:{hashlib.sha256(data).hexdigest()}")
    (TARGET / "VERSIONS.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
