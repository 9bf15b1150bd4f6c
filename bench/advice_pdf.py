"""Rendering a signed advice PDF: our renderer against a bare WeasyPrint call.

    .venv/bin/python bench/advice_pdf.py [--runs 20] [--out bench/results/advice.pdf]

The document: a two-page advice (Chinese and English) with four key images
(CT slices of the synthetic chest phantom, 768 px JPEGs), the embedded CJK
font, a QR code, PDF/A-3b.

- ours: `referral.pdf.render_pdf` as the advice uses it: the allow-list URL
  fetcher, a child forked from the warm fork server, with the time and
  memory limits (referral/advice/document.py `render_advice_pdf`);
- bare: `weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")` in
  this process, with the same HTML, fonts and images read from files by
  WeasyPrint's default fetcher.

Both are measured in the same run, alternating, after one warm-up each.
Prints median and p95 times, their ratios, and peak memory. Goal: ours
within 1.3x of bare and under 1 s median.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from referral.advice.document import RENDER_MEMORY_MB, RENDER_TIMEOUT_S, KeyImage  # noqa: E402
from referral.pdf import ASSET_BASE, font_assets, render  # noqa: E402
from tests.advice.sample import sample_advice, sample_document  # noqa: E402


def key_images(count: int = 4, size: int = 768) -> list[KeyImage]:
    """CT slices of the chest phantom, windowed for the lungs, as the DICOM renderer gives them."""
    import numpy as np
    from PIL import Image

    from dicom_samples.generate import chest_phantom

    images = []
    for i in range(count):
        hu = chest_phantom(-60.0 + 40.0 * i, size=512, rng=np.random.default_rng(i))
        center, width = -600.0, 1500.0
        pixels = np.clip((hu - (center - width / 2)) / width * 255.0, 0, 255).astype("uint8")
        image = Image.fromarray(pixels).resize((size, size))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=88)
        images.append(KeyImage(f"key-image-{i + 1}.jpg", out.getvalue(), f"CT · 胸部平扫 · #{i + 1}"))
    return images


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def pages(pdf: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        out = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "advice.pdf")
    args = parser.parse_args()

    document = sample_document(advice=sample_advice(version=2), key_images=key_images())
    workdir = Path(tempfile.mkdtemp(prefix="advice-bench-"))
    bare_html = document.html
    for name, data in {**font_assets(), **document.assets}.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        bare_html = bare_html.replace(f"{ASSET_BASE}{name}", path.as_uri())

    def ours() -> tuple[bytes, int]:
        result = render(document.html, assets=document.assets, timeout_s=RENDER_TIMEOUT_S, memory_mb=RENDER_MEMORY_MB)
        return result.pdf, result.peak_rss_kb

    def bare() -> bytes:
        import weasyprint

        return weasyprint.HTML(string=bare_html, base_url=workdir.as_uri() + "/").write_pdf(pdf_variant="pdf/a-3b")

    app_rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pdf, _ = ours()  # warm-up: starts the fork server
    app_rss_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    bare_pdf = bare()  # warm-up: imports WeasyPrint here
    times_ours: list[float] = []
    times_bare: list[float] = []
    child_peak = 0
    for _ in range(args.runs):
        start = time.perf_counter()
        pdf, peak = ours()
        times_ours.append(time.perf_counter() - start)
        child_peak = max(child_peak, peak)
        start = time.perf_counter()
        bare_pdf = bare()
        times_bare.append(time.perf_counter() - start)
    bare_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(pdf)
    med_o, med_b = statistics.median(times_ours), statistics.median(times_bare)
    p95_o, p95_b = percentile(times_ours, 0.95), percentile(times_bare, 0.95)
    print(f"advice PDF: {pages(pdf)} pages, {len(pdf) / 1024:.0f} KiB, 4 key images; bare: {pages(bare_pdf)} pages, "
          f"{len(bare_pdf) / 1024:.0f} KiB; {args.runs} runs each")
    print(f"{'':14}{'median':>10}{'p95':>10}")
    print(f"{'ours':14}{med_o * 1000:>8.0f}ms{p95_o * 1000:>8.0f}ms")
    print(f"{'bare':14}{med_b * 1000:>8.0f}ms{p95_b * 1000:>8.0f}ms")
    print(f"{'ratio':14}{med_o / med_b:>9.2f}x{p95_o / p95_b:>9.2f}x")
    print(f"peak memory: render child {child_peak / 1024:.0f} MiB (limit: +{RENDER_MEMORY_MB} MiB address space); "
          f"app process {app_rss_ours / 1024:.0f} MiB with ours (before: {app_rss_before / 1024:.0f} MiB, "
          f"WeasyPrint never imported), {bare_rss / 1024:.0f} MiB after the bare renders in-process")
    within = med_o / med_b <= 1.3
    print(f"goal: within 1.3x of bare: {'yes' if within else 'NO'}; under 1 s median: {'yes' if med_o < 1 else 'NO'}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
