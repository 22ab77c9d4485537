#!/usr/bin/env python3
"""Draws Reji's app icons (RGBA PNG and a Windows .ico, standard library only): a rounded indigo tile with three
white QR finder patterns and a yen bar. Run from the repository root: python3 scripts/make-icons.py"""
import struct
import zlib

BG = (37, 56, 140, 255)
FG = (255, 255, 255, 255)
ACCENT = (255, 196, 61, 255)
CLEAR = (0, 0, 0, 0)


def pixel(x, y):
    """Colour at (x, y) in unit coordinates 0..1."""
    r = 0.2  # corner radius
    cx = min(max(x, r), 1 - r)
    cy = min(max(y, r), 1 - r)
    if (x - cx) ** 2 + (y - cy) ** 2 > r * r:
        return CLEAR

    def finder(ox, oy):
        s = 0.26
        u, v = (x - ox) / s, (y - oy) / s
        if not (0 <= u < 1 and 0 <= v < 1):
            return None
        ring = u < 1 / 7 or u >= 6 / 7 or v < 1 / 7 or v >= 6 / 7
        core = 2 / 7 <= u < 5 / 7 and 2 / 7 <= v < 5 / 7
        return FG if ring or core else BG

    for ox, oy in ((0.17, 0.17), (0.57, 0.17), (0.17, 0.57)):
        c = finder(ox, oy)
        if c:
            return c
    # a check mark: "paid"
    for (ax, ay), (bx, by) in (((0.60, 0.71), (0.67, 0.78)), ((0.67, 0.78), (0.81, 0.61))):
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
        if (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2 < 0.035 ** 2:
            return ACCENT
    return BG


def png_bytes(size):
    rows = []
    for j in range(size):
        row = bytearray([0])
        for i in range(size):
            # 4x supersampling for smooth edges
            acc = [0, 0, 0, 0]
            for sj in range(4):
                for si in range(4):
                    c = pixel((i + (si + 0.5) / 4) / size, (j + (sj + 0.5) / 4) / size)
                    for k in range(4):
                        acc[k] += c[k]
            row += bytes(a // 16 for a in acc)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", raw)
        + chunk(b"IEND", b"")
    )


def png(size, path):
    with open(path, "wb") as f:
        f.write(png_bytes(size))


def ico(sizes, path):
    """A Windows icon whose images are PNGs (Windows Vista and later read them; the Windows build
    embeds it as the executable's icon)."""
    images = [png_bytes(s) for s in sizes]
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for s, data in zip(sizes, images):
        out += struct.pack("<BBBBHHII", s % 256, s % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    with open(path, "wb") as f:
        f.write(out + b"".join(images))


for size, name in ((32, "32x32.png"), (128, "128x128.png"), (256, "128x128@2x.png"), (512, "icon.png")):
    png(size, "icons/" + name)
ico((16, 32, 48, 256), "icons/icon.ico")
