//! Decode what `reji::qr` renders (the SVG text itself, and the terminal text) with rqrr.

use reji::qr::{self, Background, QUIET_ZONE};

const SESSION_URL: &str = "https://komoju.com/sessions/e9x5mvx3jkpkofzcg7umfael6";

fn long_url() -> String {
    let mut u = String::from(
        "https://komoju.com/sessions/e9x5mvx3jkpkofzcg7umfael6?locale=ja&return_url=\
         https%3A%2F%2Fshop.example.jp%2Fthanks%3Forder%3D",
    );
    while u.len() < 900 {
        u.push_str("abcdefghijklmnopqrstuvwxyz0123456789-_");
    }
    u
}

/// A greyscale raster of `n`×`n` modules, `scale` pixels each.
struct Raster {
    n: usize,
    scale: usize,
    px: Vec<u8>,
}

impl Raster {
    fn new(n: usize, scale: usize, fill: u8) -> Self {
        Raster {
            n,
            scale,
            px: vec![fill; n * scale * n * scale],
        }
    }

    fn fill_rect(&mut self, x: usize, y: usize, w: usize, h: usize, v: u8) {
        let side = self.n * self.scale;
        for py in y * self.scale..(y + h) * self.scale {
            for px in x * self.scale..(x + w) * self.scale {
                self.px[py * side + px] = v;
            }
        }
    }

    fn decode(&self) -> String {
        let side = self.n * self.scale;
        let mut img =
            rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| self.px[y * side + x]);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "expected exactly one QR code");
        let (_meta, content) = grids[0].decode().expect("rqrr could not decode");
        content
    }
}

fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let pat = format!(" {name}=\"");
    let start = tag
        .find(&pat)
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        + pat.len();
    let end = start + tag[start..].find('"').unwrap();
    &tag[start..end]
}

fn element<'a>(svg: &'a str, name: &str) -> &'a str {
    let start = svg
        .find(&format!("<{name} "))
        .unwrap_or_else(|| panic!("no <{name}>"));
    let end = start + svg[start..].find('>').unwrap();
    &svg[start..=end]
}

/// Parses an SVG path made of `M x y` + relative/absolute `h v H V` rectangles into
/// `(x, y, w, h)` rectangles, checking that every subpath is a closed axis-aligned rectangle.
fn path_rects(d: &str) -> Vec<(usize, usize, usize, usize)> {
    let mut tokens: Vec<(char, Vec<i64>)> = Vec::new();
    let mut chars = d.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        assert!("MhvHVz".contains(c), "unexpected path command {c:?}");
        let mut args = Vec::new();
        loop {
            while chars.peek().is_some_and(|c| *c == ' ' || *c == ',') {
                chars.next();
            }
            let mut num = String::new();
            while chars
                .peek()
                .is_some_and(|c| c.is_ascii_digit() || *c == '-')
            {
                num.push(chars.next().unwrap());
            }
            if num.is_empty() {
                break;
            }
            args.push(num.parse().unwrap());
        }
        tokens.push((c, args));
    }
    let mut rects = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let (c, args) = &tokens[i];
        assert_eq!(*c, 'M', "subpath must start with M");
        let (x0, y0) = (args[0], args[1]);
        let (mut x, mut y) = (x0, y0);
        let mut pts = vec![(x, y)];
        i += 1;
        while i < tokens.len() && tokens[i].0 != 'M' {
            let (c, a) = &tokens[i];
            match c {
                'h' => x += a[0],
                'v' => y += a[0],
                'H' => x = a[0],
                'V' => y = a[0],
                'z' => (x, y) = (x0, y0),
                _ => unreachable!(),
            }
            pts.push((x, y));
            i += 1;
        }
        assert_eq!(*pts.last().unwrap(), (x0, y0), "subpath not closed");
        assert_eq!(pts.len(), 5, "subpath is not a rectangle: {pts:?}");
        let xs = pts.iter().map(|p| p.0);
        let ys = pts.iter().map(|p| p.1);
        let (minx, maxx) = (xs.clone().min().unwrap(), xs.max().unwrap());
        let (miny, maxy) = (ys.clone().min().unwrap(), ys.max().unwrap());
        for p in &pts {
            assert!((p.0 == minx || p.0 == maxx) && (p.1 == miny || p.1 == maxy));
        }
        assert!(minx >= 0 && miny >= 0 && maxx > minx && maxy > miny);
        rects.push((
            minx as usize,
            miny as usize,
            (maxx - minx) as usize,
            (maxy - miny) as usize,
        ));
    }
    rects
}

/// Rasterises the SVG returned by `qr::svg`, checking its structure along the way.
fn rasterise_svg(svg: &str) -> Raster {
    assert!(
        svg.starts_with("<svg "),
        "not a standalone <svg>: {svg:.60}"
    );
    assert!(svg.trim_end().ends_with("</svg>"));
    let root = element(svg, "svg");
    assert_eq!(attr(root, "xmlns"), "http://www.w3.org/2000/svg");
    assert!(
        !root.contains(" width=") && !root.contains(" height="),
        "fixed size: {root}"
    );
    let vb: Vec<usize> = attr(root, "viewBox")
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(vb[..2], [0, 0]);
    assert_eq!(vb[2], vb[3]);
    let n = vb[2];

    // Start from transparent (mid grey), so a missing background would break decoding.
    let mut r = Raster::new(n, 4, 128);
    let bg = element(svg, "rect");
    assert_eq!(attr(bg, "fill"), "#ffffff");
    let (x, y, w, h) = (
        attr(bg, "x").parse().unwrap(),
        attr(bg, "y").parse().unwrap(),
        attr(bg, "width").parse().unwrap(),
        attr(bg, "height").parse().unwrap(),
    );
    assert_eq!(
        (x, y, w, h),
        (0, 0, n, n),
        "background must cover the viewBox"
    );
    r.fill_rect(x, y, w, h, 255);

    let path = element(svg, "path");
    assert_eq!(attr(path, "fill"), "#000000");
    for (x, y, w, h) in path_rects(attr(path, "d")) {
        assert!(x + w <= n && y + h <= n);
        r.fill_rect(x, y, w, h, 0);
    }
    r
}

fn check_svg(data: &str) {
    let svg = qr::svg(data).unwrap();
    let r = rasterise_svg(&svg);

    // The SVG has exactly the dark modules of the code, offset by the quiet zone.
    let (w, grid) = qr::modules(data).unwrap();
    assert_eq!(r.n, w + 2 * QUIET_ZONE);
    let side = r.n * r.scale;
    for my in 0..r.n {
        for mx in 0..r.n {
            let v = r.px[(my * r.scale + 1) * side + mx * r.scale + 1];
            let inside = (QUIET_ZONE..QUIET_ZONE + w).contains(&mx)
                && (QUIET_ZONE..QUIET_ZONE + w).contains(&my);
            let dark = inside && grid[(my - QUIET_ZONE) * w + (mx - QUIET_ZONE)];
            assert_eq!(v, if dark { 0 } else { 255 }, "module ({mx}, {my})");
        }
    }

    assert_eq!(r.decode(), data);
}

/// Parses half-block text back into modules (true = dark) and decodes it.
fn check_terminal(data: &str, background: Background) {
    let text = match background {
        Background::Dark => qr::terminal(data).unwrap(),
        Background::Light => qr::terminal_for(data, Background::Light).unwrap(),
    };
    let lines: Vec<&str> = text.lines().collect();
    let n = lines[0].chars().count();
    assert!(lines.iter().all(|l| l.chars().count() == n));
    assert_eq!(lines.len(), n.div_ceil(2));
    let ink_is_dark = background == Background::Light;

    let mut r = Raster::new(n, 3, 255);
    for (row, line) in lines.iter().enumerate() {
        for (x, c) in line.chars().enumerate() {
            let (top, bottom) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected character {other:?}"),
            };
            for (y, ink) in [(2 * row, top), (2 * row + 1, bottom)] {
                if y < n && ink == ink_is_dark {
                    r.fill_rect(x, y, 1, 1, 0);
                }
            }
        }
    }
    // The quiet zone is light all around.
    let (w, _) = qr::modules(data).unwrap();
    assert_eq!(n, w + 2 * QUIET_ZONE);
    let side = n * r.scale;
    for i in 0..side {
        for j in 0..QUIET_ZONE * r.scale {
            assert_eq!(r.px[j * side + i], 255);
            assert_eq!(r.px[i * side + j], 255);
        }
    }
    assert_eq!(r.decode(), data);
}

#[test]
fn svg_round_trip_session_url() {
    check_svg(SESSION_URL);
}

#[test]
fn svg_round_trip_long_url() {
    check_svg(&long_url());
}

#[test]
fn svg_round_trip_short_and_japanese() {
    check_svg("https://komoju.com/");
    check_svg("お会計 ¥1,650");
}

#[test]
fn terminal_round_trip_session_url() {
    check_terminal(SESSION_URL, Background::Dark);
    check_terminal(SESSION_URL, Background::Light);
}

#[test]
fn terminal_round_trip_long_url() {
    check_terminal(&long_url(), Background::Dark);
    check_terminal(&long_url(), Background::Light);
}

#[test]
fn too_long_is_an_error() {
    let data = "x".repeat(5000);
    assert_eq!(qr::svg(&data), Err(qr::QrError::TooLong(5000)));
    assert_eq!(qr::terminal(&data), Err(qr::QrError::TooLong(5000)));
    assert!(qr::QrError::TooLong(5000).to_string().contains("5000"));
}
