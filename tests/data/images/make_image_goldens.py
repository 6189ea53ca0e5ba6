"""Writes the image files of tests/data/images/ and what Pillow, the decoder behind
torchvision's ImageFolder, reads from them: the oracle of tests/runtime/test_image_cmyk.c.

    ~/.cache/infopro-peers-venv/bin/python3 tests/data/images/make_image_goldens.py

(any Python with Pillow; this one was run with Pillow 13.0.0 from PyPI). Files:
  cmyk.jpg       a 13 x 9 CMYK JPEG (quality 95, Adobe's inverted samples, as Pillow and Photoshop
                 write CMYK JPEGs) of ink ramps: cyan across, magenta down, yellow and black
                 varying with both, so that every channel takes many values;
  cmyk_rgb.ppm   Image.open('cmyk.jpg').convert('RGB'), what ImageFolder's loader returns, as a
                 binary PPM (P6) of 8-bit RGB.
The test suite never runs this script: its outputs are committed."""
import os

from PIL import Image

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


if __name__ == "__main__":
    main()
