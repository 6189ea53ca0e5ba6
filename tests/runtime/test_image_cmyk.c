/* A CMYK JPEG (tests/data/images/cmyk.jpg, which Pillow wrote with Adobe's inverted samples, as
 * Photoshop writes them; ImageNet's training set holds a few dozen such files) is decoded to the
 * RGB pixels Pillow gives for it, the decoder behind torchvision's ImageFolder:
 * tests/data/images/cmyk_rgb.ppm is Image.open('cmyk.jpg').convert('RGB') as Pillow 13 wrote it
 * (tests/data/images/make_image_goldens.py). Read at its own size (ipro_image_decode_kept copies
 * an image it need not shrink exactly), every byte must be Pillow's. Before, such a file was
 * "corrupt JPEG" and left out of the dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/image_decode.h"
#include "support/check.h"

enum { WIDTH = 13, HEIGHT = 9 };

int main(void) {
  char jpeg[1024], ppm[1024];
  ipro_test_path(jpeg, sizeof jpeg, "tests/data/images/cmyk.jpg");
  ipro_test_path(ppm, sizeof ppm, "tests/data/images/cmyk_rgb.ppm");
  FILE *file = fopen(ppm, "rb");
  CHECK_MSG(file != NULL, "cannot open %s (test data missing)", ppm);
  if (!file) return ipro_test_finish();
  int width = 0, height = 0, levels = 0;
  int fields = fscanf(file, "P6 %d %d %d", &width, &height, &levels);
  fgetc(file); /* the one whitespace byte before the pixels */
  static uint8_t expected[HEIGHT * WIDTH * 3];
  size_t got = fread(expected, 1, sizeof expected, file);
  fclose(file);
  CHECK_MSG(fields == 3 && width == WIDTH && height == HEIGHT && levels == 255 &&
                got == sizeof expected,
            "%s: unexpected header or size", ppm);

  uint8_t *pixels = NULL;
  int kept_height = 0, kept_width = 0;
  ipro_error err = {{0}};
  CHECK_OK(ipro_image_decode_kept(jpeg, 3, HEIGHT, WIDTH, &pixels, &kept_height, &kept_width, &err),
           &err);
  CHECK_MSG(kept_height == HEIGHT && kept_width == WIDTH, "kept at %d x %d", kept_height,
            kept_width);
  int differing = 0, largest = 0;
  for (int y = 0; pixels && y < HEIGHT; y++)
    for (int x = 0; x < WIDTH; x++)
      for (int c = 0; c < 3; c++) {
        int ours = pixels[(c * HEIGHT + y) * WIDTH + x];
        int pillow = expected[(y * WIDTH + x) * 3 + c];
        int difference = abs(ours - pillow);
        differing += difference != 0;
        if (difference > largest) largest = difference;
      }
  CHECK_MSG(pixels && differing == 0, "%d of %d values differ from Pillow's (by up to %d)",
            differing, HEIGHT * WIDTH * 3, largest);
  free(pixels);
  return ipro_test_finish();
}
