#!/usr/bin/env python3
"""Turns a terminal capture with escapes (`tmux capture-pane -e -p`) into a PNG, cell by
cell: SGR colours (16, 256 and true colour), bold, dim, reverse, underline; wide CJK and
emoji glyphs take two cells, as in the terminal. Needs Pillow and wcwidth (pip), and the
fonts DejaVu Sans Mono, WenQuanYi Zen Hei and Noto Color Emoji (Debian packages
fonts-dejavu-core, fonts-wqy-zenhei, fonts-noto-color-emoji).

Usage: ansi2png.py CAPTURE.ans OUT.png [COLUMNS ROWS]
"""
import re
import sys

from PIL import Image, ImageDraw, ImageFont
from wcwidth import wcwidth

CELL_W, CELL_H, SIZE = 10, 20, 16
MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
MONO_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
CJK = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
EMOJI = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"

# A dark theme close to common terminal defaults.
BASE16 = [
    (0x1d, 0x1f, 0x21), (0xcc, 0x66, 0x66), (0xb5, 0xbd, 0x68), (0xf0, 0xc6, 0x74),
    (0x81, 0xa2, 0xbe), (0xb2, 0x94, 0xbb), (0x8a, 0xbe, 0xb7), (0xc5, 0xc8, 0xc6),
    (0x66, 0x66, 0x66), (0xd5, 0x4e, 0x53), (0xb9, 0xca, 0x4a), (0xe7, 0xc5, 0x47),
    (0x7a, 0xa6, 0xda), (0xc3, 0x97, 0xd8), (0x70, 0xc0, 0xb1), (0xea, 0xea, 0xea),
]
FG, BG = (0xd8, 0xd8, 0xd8), (0x1d, 0x1f, 0x21)


def color256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


class Pen:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg, self.bg = None, None
        self.bold = self.dim = self.reverse = self.underline = False

    def sgr(self, params):
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = BASE16[c - 30]
            elif 90 <= c <= 97:
                self.fg = BASE16[c - 90 + 8]
            elif 40 <= c <= 47:
                self.bg = BASE16[c - 40]
            elif 100 <= c <= 107:
                self.bg = BASE16[c - 100 + 8]
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    col = color256(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    col = tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    col = None
                if c == 38:
                    self.fg = col
                else:
                    self.bg = col
            i += 1

    def colors(self):
        fg, bg = self.fg or FG, self.bg or BG
        if self.dim:
            fg = tuple(int(v * 0.6) for v in fg)
        if self.reverse:
            fg, bg = bg, fg
        return fg, bg


def parse(text, columns):
    """Rows of cells: (char, width, fg, bg, bold, underline)."""
    rows = []
    pen = Pen()
    for line in text.split("\n"):
        cells = []
        for token in re.finditer(r"\x1b\[([0-9;]*)m|\x1b\[[0-9;?]*[A-Za-z]|(.)", line):
            if token.group(1) is not None:
                pen.sgr(token.group(1))
            elif token.group(2) is not None:
                ch = token.group(2)
                w = wcwidth(ch)
                if w < 0:
                    continue
                if w == 0:
                    # Combining marks join the previous cell.
                    if cells:
                        prev = cells[-1]
                        cells[-1] = (prev[0] + ch,) + prev[1:]
                    continue
                fg, bg = pen.colors()
                cells.append((ch, w, fg, bg, pen.bold, pen.underline))
        rows.append(cells)
    return rows


def main():
    src, out = sys.argv[1], sys.argv[2]
    text = open(src, encoding="utf-8", errors="replace").read().rstrip("\n")
    columns = int(sys.argv[3]) if len(sys.argv) > 3 else 120
    rows = parse(text, columns)
    height = int(sys.argv[4]) if len(sys.argv) > 4 else len(rows)
    img = Image.new("RGB", (columns * CELL_W, height * CELL_H), BG)
    draw = ImageDraw.Draw(img)
    mono = ImageFont.truetype(MONO, SIZE)
    bold = ImageFont.truetype(MONO_BOLD, SIZE)
    cjk = ImageFont.truetype(CJK, SIZE)
    emoji = ImageFont.truetype(EMOJI, 109)
    for y, cells in enumerate(rows[:height]):
        x = 0
        for ch, w, fg, bg, is_bold, underline in cells:
            px, py = x * CELL_W, y * CELL_H
            draw.rectangle([px, py, px + w * CELL_W - 1, py + CELL_H - 1], fill=bg)
            # Block elements fill their cell exactly, as a terminal draws them (a QR code
            # must have no seams).
            halves = {"█": (0, CELL_H), "▀": (0, CELL_H // 2), "▄": (CELL_H // 2, CELL_H)}
            if ch in halves:
                top, bottom = halves[ch]
                draw.rectangle([px, py + top, px + CELL_W - 1, py + bottom - 1], fill=fg)
            elif ch != " ":
                font = bold if is_bold else mono
                if w == 2 and ord(ch[0]) >= 0x1F000:
                    glyph = Image.new("RGBA", (136, 128), (0, 0, 0, 0))
                    ImageDraw.Draw(glyph).text((0, 0), ch, font=emoji, embedded_color=True)
                    glyph = glyph.resize((2 * CELL_W - 2, CELL_H - 2))
                    img.paste(glyph, (px + 1, py + 1), glyph)
                else:
                    if w == 2 or font.getmask(ch[0]).getbbox() is None:
                        font = cjk
                    draw.text((px, py + 1), ch, font=font, fill=fg)
            if underline:
                draw.line([px, py + CELL_H - 2, px + w * CELL_W - 1, py + CELL_H - 2], fill=fg)
            x += w
    img.save(out)


if __name__ == "__main__":
    main()
