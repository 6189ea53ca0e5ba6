/* Resampling uint8 images with PIL's BILINEAR filter (a triangle widened by the scale when
 * shrinking, so that downscaling averages rather than aliases): the one resampler behind every
 * image-folder geometry. At load, image_decode.c fits each image to the model's input (Resize then
 * CenterCrop) or shrinks it to the size kept for augmentation; per batch, the loader resizes a
 * random crop box to the model's input (torchvision's RandomResizedCrop, batch_loader.h). Nothing
 * here keeps state between calls, so calls may run at once on any thread. */
#ifndef IPRO_IMAGE_RESAMPLE_H
#define IPRO_IMAGE_RESAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Resamples src[src_height, src_width, channels] (HWC) to cover height x width, shorter side first,
 * and centre-crops into out (CHW). An image already of the target size is copied exactly. False
 * only when out of memory. */
bool ipro_image_fit(const uint8_t *src, int src_height, int src_width, int channels, int height,
                    int width, uint8_t *out);

/* Resizes src[src_height, src_width, channels] (HWC) to height x width (no crop) into out (CHW).
 * False only when out of memory. */
bool ipro_image_resize(const uint8_t *src, int src_height, int src_width, int channels, int height,
                       int width, uint8_t *out);

/* Crops the box (top, left, box_height, box_width) out of src[channels, src_height, src_width]
 * (CHW) and resizes it to height x width into out (CHW), as torchvision's resized_crop does: the
 * filter sees only the box's pixels. A box of the output's size is copied exactly. The box must
 * lie inside the image. False only when out of memory. */
bool ipro_image_resize_box(const uint8_t *src, int src_height, int src_width, int channels, int top,
                           int left, int box_height, int box_width, int height, int width,
                           uint8_t *out);

#endif
