//! A receipt printer for tests and for trying Reji without one: a strict ESC/POS decoder
//! ([`decode`]), a network printer on a loopback port ([`server`]) and raster images as PNG
//! ([`png_of_bits`]).

pub mod decode;
pub mod server;

pub use decode::{decode, printed, stacked_image, text_lines, Op, Printed};
pub use server::{Behaviour, Emulator, Job};

/// A 1-bit image (rows of `width / 8` bytes, MSB first, 1 = black) as a greyscale PNG.
pub fn png_of_bits(width: usize, height: usize, bits: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        let mut w = enc.write_header().expect("a PNG header in memory");
        // PNG greyscale: 1 = white; ESC/POS: 1 = black.
        let inverted: Vec<u8> = bits.iter().map(|b| !b).collect();
        w.write_image_data(&inverted).expect("PNG data in memory");
    }
    out
}

/// A 1-bit image as 8-bit luma pixels (0 = black, 255 = white), for image comparisons and QR decoders.
pub fn luma_of_bits(width: usize, height: usize, bits: &[u8]) -> Vec<u8> {
    let row = width / 8;
    let mut px = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let byte = bits[y * row + x / 8];
            let black = byte & (0x80 >> (x % 8)) != 0;
            px.push(if black { 0 } else { 255 });
        }
    }
    px
}
