"""Report packages of a given size for the benchmarks, grown from the klein example in
../shared/ixbrl (pointed at the 2024-12-31 taxonomy; its pages repeated with fresh fact ids)."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

NAME = "nba-klein-nl-commercieel-inrichtingsjaarrekening-2023"
PILOT, CURRENT = "2024-03-31", "2024-12-31"


def shared_dir() -> Path:
    for candidate in (
        os.environ.get("GATEWAY_SHARED_DIR"),
        Path(__file__).resolve().parents[2] / "shared",
        "/work/shared",
    ):
        if candidate and (Path(candidate) / "ixbrl").is_dir():
            return Path(candidate)
    raise SystemExit("the shared material (../shared/ixbrl) was not found; set GATEWAY_SHARED_DIR")


def _current(text: str) -> str:
    text = text.replace(
        f"nltaxonomie.nl/jenv/{PILOT}/bw2-titel9-cor", f"nltaxonomie.nl/bw2-titel9/{CURRENT}/bw2-titel9-cor"
    )
    text = text.replace(f"nltaxonomie.nl/rj/{PILOT}/", f"nltaxonomie.nl/rj/{CURRENT}/")
    text = text.replace(f"nltaxonomie.nl/kvk/{PILOT}/", f"nltaxonomie.nl/kvk/{CURRENT}/")
    # The example's one open hypercube (NL-KVK.4.4.2.2) closed, so the package is accepted.
    return text.replace('xbrldt:contextElement="scenario"/>', 'xbrldt:contextElement="scenario" xbrldt:closed="true"/>')


def package_of_size(report_bytes: int) -> tuple[bytes, bytes, int]:
    """(the .xbri zip, its report's XHTML bytes, the unpacked size of the whole package)."""
    with zipfile.ZipFile(shared_dir() / "ixbrl" / f"{NAME}.zip") as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    report_path = next(p for p in files if p.endswith(".html"))
    report = _current(files[report_path].decode("utf-8"))
    start = report.index("</ix:header>")
    start = report.index('<div class="page">', start)
    end = report.rindex("</body>")
    pages = report[start:end]
    copies = []
    n = 0
    while len(report) + sum(len(c) for c in copies) < report_bytes:
        n += 1
        copies.append(re.sub(r'id="([^"]+)"', rf'id="\1_{n}"', pages))
    report = report[:end] + "".join(copies) + report[end:]
    files = {
        p: _current(d.decode("utf-8")).encode("utf-8") if p.endswith((".xsd", ".xml")) else d for p, d in files.items()
    }
    files[report_path.replace("dekleinebv-jaarrekening-nl-2023-12-31", "dekleinebv-2023-12-31-nl")] = report.encode()
    del files[report_path]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return out.getvalue(), report.encode(), sum(len(d) for d in files.values())
