/* One image file (PNG through libpng, JPEG through libjpeg-turbo) decoded into the fixed-size
 * uint8 CHW form a dataset holds: converted to the wanted channel count, resized on its shorter
 * side so that it covers the target, and centre-cropped to it (torchvision's Resize then
 * CenterCrop), or kept larger than the target for random-resized-crop. Used by the image-folder
 * dataset (dataset_imagefolder.c) on its worker threads; the resampling itself is
 * image_resample.h. Nothing here keeps state between calls, so calls may run at once. */
#ifndef IPRO_IMAGE_DECODE_H
#define IPRO_IMAGE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image_resample.h"
#include "ir/error.h"

/* Decodes path into out[channels * height * width] (CHW). channels is 1 (grey) or 3 (RGB): grey
 * images are replicated into RGB; colour images become grey by ITU-R BT.601 luma in 16-bit
 * fixed point (what PIL's convert('L') and libjpeg compute, to the bit; CMYK JPEGs become RGB as
 * Pillow converts them). An alpha channel is dropped, and 16-bit PNG samples
 * without a gAMA or sRGB chunk are taken as sRGB-encoded, as PIL's convert and torchvision's
 * read_image do. The format is told by the file's first bytes, not its name. */
ipro_status ipro_image_decode(const char *path, int channels, int height, int width, uint8_t *out,
                              ipro_error *err);

/* The size an image of height x width is kept at for random-resized-crop: shrunk, keeping its
 * aspect ratio, until it just covers cover_height x cover_width (the larger of the two scales, as
 * a shorter-side resize), or left as it is when it does not exceed that. */
void ipro_image_kept_size(int height, int width, int cover_height, int cover_width,
                          int *kept_height, int *kept_width);

/* Decodes path for random-resized-crop: converted to `channels` as above and resized to
 * ipro_image_kept_size (an image not shrunk is copied exactly), into *out (malloc'd, CHW,
 * [channels, *height, *width]). */
ipro_status ipro_image_decode_kept(const char *path, int channels, int cover_height,
                                   int cover_width, uint8_t **out, int *height, int *width,
                                   ipro_error *err);

#endif
