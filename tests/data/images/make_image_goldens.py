"""Writes the image files of tests/data/images/ and what Pillow, the decoder behind
torchvision's ImageFolder, reads from them: the oracle of tests/runtime/test_image_cmyk.c.

    pip install --no-deps --target /tmp/tvpkg torchvision==0.29.2
    PYTHONPATH=/tmp/tvpkg ~/.cache/infopro-peers-venv/bin/python3 tests/data/images/make_image_goldens.py

(any Python with Pillow and torchvision's transforms; this one was run with Pillow 13.0.0 and
torchvision 0.29.2 from PyPI, beside torch 2.15: the transforms on PIL images are Python and
Pillow alone). Files:
  cmyk.jpg       a 13 x 9 CMYK JPEG (quality 95, Adobe's inverted samples, as Pillow and Photoshop
                 write CMYK JPEGs) of ink ramps: cyan across, magenta down, yellow and black
                 varying with both, so that every channel takes many values;
  cmyk_rgb.ppm   Image.open('cmyk.jpg').convert('RGB'), what ImageFolder's loader returns, as a
                 binary PPM (P6) of 8-bit RGB;
  colours.png    a 64 x 64 RGB PNG of 4,096 colours (the 16 x 16 x 16 grid of channel values
                 0, 17, ..., 255, each nudged by the pixel's position so that no two are alike);
  colours_l.pgm  Image.open('colours.png').convert('L'), what torchvision's Grayscale gives for
                 it (ITU-R 601-2 luma in Pillow's integer arithmetic), as a binary PGM (P5);
  colours.jpg    colours.png as a JPEG of quality 90 (Pillow's default 4:2:0 chroma subsampling),
                 with colours_jpg_rgb.ppm and colours_jpg_l.pgm, Pillow's convert('RGB') and
                 convert('L') of it (libjpeg-turbo's decoding with fancy upsampling, as Pillow
                 asks for it);
  palette.png, grey_alpha.png, rgba.png
                 16 x 8 PNGs of a 16-colour palette with index 0 transparent (a tRNS chunk), of
                 grey with alpha, and of RGB with alpha; beside each NAME_rgb.ppm, Pillow's
                 convert('RGB') (what ImageFolder's loader returns: transparency dropped, not
                 composited), and NAME_l.pgm, that converted to 'L' (the loader then Grayscale);
  colours_fit23.ppm, cmyk_fit5.ppm, rgba_fit5.ppm
                 torchvision's Resize(N) then CenterCrop(N) of colours.png, cmyk.jpg and rgba.png
                 (each as RGB) at N = 23, 5 and 5: shrinking square, shrinking 13 x 9 (the long
                 side truncated to int(5 * 13 / 9) = 7) and 16 x 8 (its crop at round(2.5) = 2,
                 Python's ties to even);
  colours_crop.ppm
                 torchvision's resized_crop(colours.png, top 5, left 9, height 37, width 29,
                 size 23 x 23), what RandomResizedCrop does with the box it drew.
The test suite never runs this script: its outputs are committed."""
import os

from PIL import Image
import torchvision.transforms as T
import torchvision.transforms.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    width, height = 13, 9
    image = Image.new("CMYK", (width, height))
    for y in range(height):
        for x in range(width):
            image.putpixel((x, y), (x * 255 // (width - 1), y * 255 // (height - 1),
                                    (x * 37 + y * 91) % 256, (x * 19 + y * 53) % 200))
    jpeg = os.path.join(HERE, "cmyk.jpg")
    image.save(jpeg, "JPEG", quality=95)
    Image.open(jpeg).convert("RGB").save(os.path.join(HERE, "cmyk_rgb.ppm"))

    colours = Image.new("RGB", (64, 64))
    for y in range(64):
        for x in range(64):
            i = y * 64 + x
            colours.putpixel((x, y), (min(255, (i % 16) * 17 + x % 3),
                                      min(255, (i // 16 % 16) * 17 + y % 5),
                                      min(255, (i // 256) * 17 + (x + y) % 7)))
    png = os.path.join(HERE, "colours.png")
    colours.save(png)
    Image.open(png).convert("L").save(os.path.join(HERE, "colours_l.pgm"))
    jpeg = os.path.join(HERE, "colours.jpg")
    colours.save(jpeg, quality=90)
    Image.open(jpeg).convert("RGB").save(os.path.join(HERE, "colours_jpg_rgb.ppm"))
    Image.open(jpeg).convert("L").save(os.path.join(HERE, "colours_jpg_l.pgm"))

    palette = Image.new("P", (16, 8))
    palette.putpalette([v for i in range(16) for v in (i * 16, 255 - i * 16, i * 53 % 256)])
    grey_alpha = Image.new("LA", (16, 8))
    rgba = Image.new("RGBA", (16, 8))
    for y in range(8):
        for x in range(16):
            palette.putpixel((x, y), (x + y) % 16)
            grey_alpha.putpixel((x, y), (x * 16 + y, y * 32))
            rgba.putpixel((x, y), (x * 16, y * 32, x * y * 7 % 256, (x * 13 + y * 29) % 256))
    palette.save(os.path.join(HERE, "palette.png"), transparency=0)
    grey_alpha.save(os.path.join(HERE, "grey_alpha.png"))
    rgba.save(os.path.join(HERE, "rgba.png"))
    for name in ("palette", "grey_alpha", "rgba"):
        rgb = Image.open(os.path.join(HERE, name + ".png")).convert("RGB")
        rgb.save(os.path.join(HERE, name + "_rgb.ppm"))
        rgb.convert("L").save(os.path.join(HERE, name + "_l.pgm"))

    for name, source, size in (("colours_fit23", "colours.png", 23), ("cmyk_fit5", "cmyk.jpg", 5),
                               ("rgba_fit5", "rgba.png", 5)):
        rgb = Image.open(os.path.join(HERE, source)).convert("RGB")
        fitted = T.Compose([T.Resize(size), T.CenterCrop(size)])(rgb)
        fitted.save(os.path.join(HERE, name + ".ppm"))
    rgb = Image.open(os.path.join(HERE, "colours.png")).convert("RGB")
    F.resized_crop(rgb, 5, 9, 37, 29, [23, 23]).save(os.path.join(HERE, "colours_crop.ppm"))


if __name__ == "__main__":
    main()
