#!/usr/bin/python3
"""Renders a terminal screen captured with `tmux capture-pane -e -p` (text with ANSI SGR colours)
to a PNG, for the screenshots in docs/screens/. Debian's python3 with python3-pil and the
DejaVu Sans Mono font (fonts-dejavu-core).

    tmux capture-pane -e -p -t pane | render-screen.py out.png [title]
"""

import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 15
BACKGROUND = (30, 30, 46)
FOREGROUND = (205, 214, 244)
# The 16 ANSI colours (a calm dark palette), normal then bright.
PALETTE = [
    (69, 71, 90), (243, 139, 168), (166, 227, 161), (249, 226, 175),
    (137, 180, 250), (245, 194, 231), (148, 226, 213), (186, 194, 222),
    (88, 91, 112), (243, 139, 168), (166, 227, 161), (249, 226, 175),
    (137, 180, 250), (245, 194, 231), (148, 226, 213), (166, 173, 200),
]
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def color256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    level = 8 + (n - 232) * 10
    return (level, level, level)


def cells(line):
    """Yields (char, fg, bold, dim) for each character of a line with SGR codes."""
    fg, bold, dim = None, False, False
    position = 0
    for match in SGR.finditer(line + "\x1b[m"):
        for char in line[position:match.start()]:
            yield char, fg, bold, dim
        position = match.end()
        codes = [int(c) if c else 0 for c in match.group(1).split(";")] or [0]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code == 0:
                fg, bold, dim = None, False, False
            elif code == 1:
                bold = True
            elif code == 2:
                dim = True
            elif code == 22:
                bold = dim = False
            elif 30 <= code <= 37:
                fg = PALETTE[code - 30]
            elif 90 <= code <= 97:
                fg = PALETTE[code - 90 + 8]
            elif code == 39:
                fg = None
            elif code == 38 and i + 2 < len(codes) and codes[i + 1] == 5:
                fg = color256(codes[i + 2])
                i += 2
            elif code == 38 and i + 4 < len(codes) and codes[i + 1] == 2:
                fg = tuple(codes[i + 2:i + 5])
                i += 4
            i += 1


def main():
    out = sys.argv[1]
    title = sys.argv[2] if len(sys.argv) > 2 else ""
    lines = sys.stdin.read().rstrip("\n").split("\n")
    regular = ImageFont.truetype(FONT, SIZE)
    bold_font = ImageFont.truetype(BOLD, SIZE)
    width = int(regular.getlength("M"))
    height = int(SIZE * 1.35)
    columns = max(80, max(len(SGR.sub("", line)) for line in lines))
    pad = 18
    bar = 30
    image = Image.new("RGB", (columns * width + 2 * pad, len(lines) * height + 2 * pad + bar), BACKGROUND)
    draw = ImageDraw.Draw(image)
    # A window bar, so the picture reads as a terminal.
    draw.rectangle([0, 0, image.width, bar], fill=(24, 24, 37))
    for i, color in enumerate([(243, 139, 168), (249, 226, 175), (166, 227, 161)]):
        draw.ellipse([pad + i * 20, 10, pad + i * 20 + 11, 21], fill=color)
    if title:
        draw.text((image.width / 2, bar / 2), title, font=regular, fill=(166, 173, 200), anchor="mm")
    for row, line in enumerate(lines):
        x = pad
        y = bar + pad + row * height
        for char, fg, is_bold, is_dim in cells(line):
            color = fg or FOREGROUND
            if is_dim:
                color = tuple(int(c * 0.6 + b * 0.4) for c, b in zip(color, BACKGROUND))
            draw.text((x, y), char, font=bold_font if is_bold else regular, fill=color)
            x += width
    image.save(out)


if __name__ == "__main__":
    main()
