/* One image file (PNG through libpng, JPEG through libjpeg-turbo) decoded into the fixed-size
 * uint8 CHW form a dataset holds: converted to the wanted channel count, resized on its shorter
 * side so that it covers the target, and centre-cropped to it (torchvision's Resize then
 * CenterCrop). Used by the image-folder dataset (dataset_imagefolder.c) on its worker threads;
 * nothing here keeps state between calls, so calls may run at once. */
#ifndef IPRO_IMAGE_DECODE_H
#define IPRO_IMAGE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend/error.h"

/* Decodes path into out[channels * height * width] (CHW). channels is 1 (grey) or 3 (RGB): grey
 * images are replicated into RGB; colour images become grey by ITU-R BT.601 luma (what
 * PIL's convert('L') and libjpeg compute). An alpha channel is composited onto black. The format is
 * told by the file's first bytes, not its name. */
ipro_status ipro_image_decode(const char *path, int channels, int height, int width, uint8_t *out,
                              ipro_error *err);

/* Resamples src[src_height, src_width, channels] (HWC) to cover height x width, shorter side first,
 * and centre-crops into out (CHW). The filter is a triangle (bilinear) widened by the scale when
 * shrinking, as PIL's BILINEAR resize does, so downscaling averages rather than aliases; an image
 * already of the target size is copied exactly. False only when out of memory. */
bool ipro_image_fit(const uint8_t *src, int src_height, int src_width, int channels, int height,
                    int width, uint8_t *out);

#endif
