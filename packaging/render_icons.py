"""Render the application icon's hicolor PNGs from its SVG (needs rsvg-convert: apt-get install librsvg2-bin)."""

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cvstudio.appinfo import ICON_SIZES, png_icons, scalable_icon  # noqa: E402

svg, pngs = scalable_icon(), png_icons()
for size, png in zip(ICON_SIZES, pngs):
    png.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["rsvg-convert", "-w", str(size), "-h", str(size), str(svg), "-o", str(png)], check=True)
    print(png)
