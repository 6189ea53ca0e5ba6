/* What goes into a batch, example by example: the epoch's order, each example's random crop and
 * flip, and normalisation (see batch_loader.h for the generators and the torchvision convention
 * they follow). Everything here is a pure function of its arguments, which is what makes the
 * background thread's batches equal to a synchronous run's. */
#include "batch_loader.h"

#include <math.h>

#include "image_resample.h"

enum { STREAM_SHUFFLE = 1, STREAM_AUGMENT = 2, STREAM_RESIZED_CROP = 3 };

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

/* One key per (seed, stream, epoch): three chained splitmix64 steps, each input folded in by xor.
 */
static uint64_t stream_key(uint64_t seed, uint64_t stream, int64_t epoch) {
  uint64_t state = seed;
  state = splitmix64(&state) ^ stream;
  state = splitmix64(&state) ^ (uint64_t)epoch;
  return splitmix64(&state);
}

static uint64_t rotate_left(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro256starstar(uint64_t s[4]) {
  uint64_t result = rotate_left(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotate_left(s[3], 45);
  return result;
}

/* Uniform in [0, bound): draws below 2^64 mod bound are rejected so every residue is equally
 * likely. */
static uint64_t uniform_below(uint64_t s[4], uint64_t bound) {
  uint64_t threshold = (0 - bound) % bound, r;
  do
    r = xoshiro256starstar(s);
  while (r < threshold);
  return r % bound;
}

void ipro_batch_shuffle(uint64_t seed, int64_t epoch, int64_t count, int64_t *order) {
  uint64_t state = stream_key(seed, STREAM_SHUFFLE, epoch), s[4];
  for (int i = 0; i < 4; i++)
    s[i] = splitmix64(&state);
  for (int64_t i = 0; i < count; i++)
    order[i] = i;
  for (int64_t i = count - 1; i > 0; i--) {
    int64_t j = (int64_t)uniform_below(s, (uint64_t)i + 1);
    int64_t swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
}

ipro_augment_choice ipro_batch_augment_choice(uint64_t seed, int64_t epoch, int64_t example,
                                              int padding, bool flip) {
  /* The example-th output of the splitmix64 sequence that starts at the epoch's key. */
  uint64_t state =
      stream_key(seed, STREAM_AUGMENT, epoch) + (uint64_t)example * 0x9E3779B97F4A7C15u;
  uint64_t h = splitmix64(&state), span = 2 * (uint64_t)padding + 1;
  ipro_augment_choice choice = {padding, padding, false};
  if (padding > 0) {
    choice.dy = (int)((h & 0xFFFFFFFFu) % span);
    choice.dx = (int)(((h >> 32) & 0x7FFFFFFFu) % span);
  }
  choice.flip = flip && (h >> 63);
  return choice;
}

void ipro_batch_pixel_table(const ipro_dataset *data, ipro_pixel_table *table) {
  for (int c = 0; c < data->channels; c++)
    for (int x = 0; x < 256; x++)
      table->values[c][x] = ipro_dataset_normalize_pixel(data, c, (uint8_t)x);
}

void ipro_batch_fill_example(const ipro_dataset *data, int64_t example, int padding,
                             ipro_augment_choice choice, const ipro_pixel_table *table,
                             float *out) {
  int height = data->height, width = data->width;
  size_t plane = (size_t)height * width;
  const uint8_t *image = data->images + (size_t)example * data->channels * plane;
  /* Output (y, x) reads the padded image at (y + dy, x' + dx), x' = x or width-1-x when flipped;
   * in the unpadded image that is (y + dy - padding, x' + dx - padding). */
  for (int c = 0; c < data->channels; c++) {
    const uint8_t *source = image + c * plane;
    const float *values = table->values[c];
    float padded = values[0];
    for (int y = 0; y < height; y++) {
      float *row = out + c * plane + (size_t)y * width;
      int sy = y + choice.dy - padding;
      if (sy < 0 || sy >= height) {
        for (int x = 0; x < width; x++)
          row[x] = padded;
        continue;
      }
      const uint8_t *source_row = source + (size_t)sy * width;
      for (int x = 0; x < width; x++) {
        int sx = (choice.flip ? width - 1 - x : x) + choice.dx - padding;
        row[x] = sx >= 0 && sx < width ? values[source_row[sx]] : padded;
      }
    }
  }
}

/* Uniform in [low, high) from the top 53 bits of one draw. */
static double uniform_between(uint64_t s[4], double low, double high) {
  double unit = (double)(xoshiro256starstar(s) >> 11) * 0x1p-53;
  return low + unit * (high - low);
}

/* Python's round() (halves to even), which torchvision's get_params applies. */
static int round_half_even(double x) { return (int)nearbyint(x); }

ipro_crop_box ipro_batch_resized_crop_choice(uint64_t seed, int64_t epoch, int64_t example,
                                             int height, int width, bool flip) {
  uint64_t state = stream_key(seed, STREAM_RESIZED_CROP, epoch) +
                   (uint64_t)example * 0x9E3779B97F4A7C15u,
           s[4];
  for (int i = 0; i < 4; i++)
    s[i] = splitmix64(&state);
  ipro_crop_box box = {0};
  box.flip = flip && (xoshiro256starstar(s) >> 63);
  const double min_scale = 0.08, max_scale = 1.0, min_ratio = 3.0 / 4.0, max_ratio = 4.0 / 3.0;
  double area = (double)height * width;
  for (int attempt = 0; attempt < 10; attempt++) {
    double target_area = area * uniform_between(s, min_scale, max_scale);
    double ratio = exp(uniform_between(s, log(min_ratio), log(max_ratio)));
    int w = round_half_even(sqrt(target_area * ratio));
    int h = round_half_even(sqrt(target_area / ratio));
    if (0 < w && w <= width && 0 < h && h <= height) {
      box.height = h, box.width = w;
      box.top = (int)uniform_below(s, (uint64_t)(height - h) + 1);
      box.left = (int)uniform_below(s, (uint64_t)(width - w) + 1);
      return box;
    }
  }
  /* The whole image, narrowed to the nearest allowed aspect ratio, centred. */
  double in_ratio = (double)width / height;
  box.fallback = true;
  box.height = height, box.width = width;
  if (in_ratio < min_ratio)
    box.height = round_half_even(width / min_ratio);
  else if (in_ratio > max_ratio)
    box.width = round_half_even(height * max_ratio);
  box.top = (height - box.height) / 2;
  box.left = (width - box.width) / 2;
  return box;
}

bool ipro_batch_fill_resized_crop(const ipro_dataset *data, int64_t example, ipro_crop_box box,
                                  const ipro_pixel_table *table, uint8_t *scratch, float *out) {
  int height = data->height, width = data->width;
  if (!ipro_image_resize_box(data->uncropped_pixels + data->uncropped_offsets[example],
                             data->uncropped_sizes[2 * example],
                             data->uncropped_sizes[2 * example + 1], data->channels, box.top,
                             box.left, box.height, box.width, height, width, scratch))
    return false;
  size_t plane = (size_t)height * width;
  for (int c = 0; c < data->channels; c++) {
    const float *values = table->values[c];
    for (int y = 0; y < height; y++) {
      const uint8_t *row = scratch + c * plane + (size_t)y * width;
      float *to = out + c * plane + (size_t)y * width;
      for (int x = 0; x < width; x++)
        to[x] = values[row[box.flip ? width - 1 - x : x]];
    }
  }
  return true;
}
