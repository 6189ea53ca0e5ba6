/* Which files of an `imagefolder:DIR` tree are taken, and in what order, on a tree this test
 * writes (small uniform grey PNGs and one JPEG, each grey level naming its image):
 *   - images in folders nested inside a class folder are taken, in torchvision ImageFolder's
 *     order `for root, _, names in sorted(os.walk(class_folder, followlinks=True)): for name in
 *     sorted(names)`, worked out by hand below for this tree: by the folder's path string, then
 *     by name, so cat/z.png comes before cat/batch1/x.png (a sort of full paths puts it last) and
 *     cat/batch1-b before cat/batch1/sub (a depth-first walk puts it after);
 *   - a link to a folder elsewhere is followed; a link back to a folder above (a loop) is not
 *     walked again; a folder named like an image (d.png/) is walked, not decoded; names starting
 *     with '.' (files and folders) are left out;
 *   - an entry named like an image that is not a file once links are followed (a dangling link,
 *     a link to itself, a link whose target's name is too long, a FIFO) is skipped with a message
 *     saying why, as an undecodable image is, in its place in that order; --strict fails on the
 *     first of them; a class folder holding only such an entry is an error;
 *   - files of formats torchvision reads and infopro does not (.bmp, .webp, .tiff) are counted per
 *     split with the first one's path; a class folder holding only such files is an error that
 *     says so;
 *   - an image of mode 000 is skipped as "cannot open: Permission denied" (not as root);
 *   - the same listing read uncropped (random-resized-crop) keeps the same images in the same
 *     order.
 * Needs no dataset: the images are written here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* after stdio.h, which it needs */
#include <jpeglib.h>

#include "ir/atomic_file.h"
#include "runtime/dataset.h"
#include "support/check.h"
#include "support/command.h"
#include "support/user_data.h"

static char directory[] = "/tmp/ipro_test_imagefolder_tree_XXXXXX";

enum { SIDE = 4 };

static void in_tree(char *path, size_t size, const char *relative) {
  snprintf(path, size, "%s/%s", directory, relative);
}

/* DIR/relative into path, its folders made */
static bool new_file(char *path, size_t size, const char *relative) {
  char folder[1024];
  in_tree(path, size, relative);
  snprintf(folder, sizeof folder, "%s", path);
  *strrchr(folder, '/') = '\0';
  ipro_error err;
  return ipro_make_directories(folder, &err) == IPRO_OK;
}

/* A SIDE x SIDE grey image of one level. */
static void grey_png(const char *relative, uint8_t level) {
  char path[1024];
  uint8_t pixels[SIDE * SIDE];
  memset(pixels, level, sizeof pixels);
  CHECK_MSG(new_file(path, sizeof path, relative) &&
                ipro_test_write_png(path, SIDE, SIDE, 1, pixels),
            "cannot write %s", path);
}

static void grey_jpeg(const char *relative, uint8_t level) {
  char path[1024];
  FILE *file = new_file(path, sizeof path, relative) ? fopen(path, "wb") : NULL;
  CHECK_MSG(file != NULL, "cannot write %s", path);
  if (!file) return;
  struct jpeg_compress_struct info;
  struct jpeg_error_mgr errors;
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  jpeg_stdio_dest(&info, file);
  info.image_width = SIDE, info.image_height = SIDE, info.input_components = 1;
  info.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, 100, TRUE);
  jpeg_start_compress(&info, TRUE);
  uint8_t row[SIDE];
  memset(row, level, sizeof row);
  while (info.next_scanline < SIDE) {
    JSAMPROW rows = row;
    jpeg_write_scanlines(&info, &rows, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  fclose(file);
}

static void some_bytes(const char *relative, const char *bytes) {
  char path[1024];
  FILE *file = new_file(path, sizeof path, relative) ? fopen(path, "wb") : NULL;
  CHECK_MSG(file && fputs(bytes, file) >= 0 && fclose(file) == 0, "cannot write %s", path);
}

static void link_in_tree(const char *target, const char *relative) {
  char path[1024];
  in_tree(path, sizeof path, relative);
  CHECK_MSG(symlink(target, path) == 0, "cannot link %s -> %s: %s", path, target, strerror(errno));
}

/* The tree, with each image's grey level. The order torchvision takes train/cat in: the roots
 * sorted are cat, cat/batch1, cat/batch1-b, cat/batch1/sub, cat/d.png ('-' < '/' < 'd'; .cache
 * is hidden; batch1/back is cat again), and within cat the image names sorted are gone.png,
 * long.png, pipe.png, self.png, z.png: so gone, long, pipe, self (skipped), z 10, x 20, w 40,
 * y 30, v 50. train/dog: dog, then dog/linked (outside the split; dog/loop is dog again): a 60,
 * e 70. */
static void write_tree(void) {
  grey_png("train/cat/z.png", 10);
  grey_png("train/cat/batch1/x.png", 20);
  grey_jpeg("train/cat/batch1/sub/y.jpg", 30);
  grey_png("train/cat/batch1-b/w.png", 40);
  grey_png("train/cat/d.png/v.png", 50);
  grey_png("train/cat/.hidden.png", 99);
  grey_png("train/cat/.cache/h.png", 98);
  link_in_tree("..", "train/cat/batch1/back");
  link_in_tree("nowhere.png", "train/cat/gone.png");
  link_in_tree("self.png", "train/cat/self.png");
  char long_name[320];
  memset(long_name, 'a', 300);
  snprintf(long_name + 300, sizeof long_name - 300, ".png");
  link_in_tree(long_name, "train/cat/long.png");
  char path[1024];
  in_tree(path, sizeof path, "train/cat/pipe.png");
  CHECK_MSG(mkfifo(path, 0644) == 0, "mkfifo %s: %s", path, strerror(errno));
  some_bytes("train/cat/a.bmp", "BM not decoded");
  some_bytes("train/cat/batch1/c.webp", "RIFF not decoded");
  some_bytes("train/cat/notes.txt", "not an image at all");
  grey_png("train/dog/a.png", 60);
  grey_png("extra/e.png", 70);
  link_in_tree("../../extra", "train/dog/linked");
  link_in_tree(".", "train/dog/loop");
  grey_png("val/cat/q.png", 80);
  grey_png("val/dog/s.png", 90);
  some_bytes("val/dog/r.tiff", "II* not decoded");
}

static ipro_status load(ipro_dataset_split split, bool strict, bool uncropped, ipro_dataset *out,
                        ipro_error *err) {
  ipro_dataset_spec spec = {.kind = IPRO_DATASET_IMAGEFOLDER,
                            .channels = 1,
                            .height = SIDE,
                            .width = SIDE,
                            .strict = strict,
                            .uncropped = uncropped};
  snprintf(spec.directory, sizeof spec.directory, "%s", directory);
  return ipro_dataset_load(&spec, split, out, err);
}

static const uint8_t train_levels[] = {10, 20, 40, 30, 50, 60, 70};
static const uint8_t train_labels[] = {0, 0, 0, 0, 0, 1, 1};
static const char *const skipped_names[] = {"/train/cat/gone.png", "/train/cat/long.png",
                                            "/train/cat/pipe.png", "/train/cat/self.png"};
static const char *const skipped_reasons[] = {"dangling symbolic link", "File name too long",
                                              "not a regular file but a FIFO", "loop of links"};

/* image i's level: its first pixel, which must be every pixel's (the JPEG's within 2) */
static int level_of(const ipro_dataset *data, int64_t i) {
  const uint8_t *pixels = data->images ? data->images + (size_t)i * SIDE * SIDE
                                       : data->uncropped_pixels + data->uncropped_offsets[i];
  for (int p = 1; p < SIDE * SIDE; p++)
    if (abs(pixels[p] - pixels[0]) > 2) return -1;
  return pixels[0];
}

static void taken_in_order(bool uncropped) {
  ipro_dataset got;
  ipro_error err = {{0}};
  ipro_status status = load(IPRO_SPLIT_TRAIN, false, uncropped, &got, &err);
  CHECK_MSG(status == IPRO_OK, "uncropped %d: %s", uncropped, err.message);
  if (status != IPRO_OK) return;
  CHECK_EQ_INT(got.num_classes, 2);
  CHECK_EQ_INT(got.count, 7);
  char order[256] = "", want[256] = "";
  bool same = got.count == 7;
  for (int64_t i = 0; i < got.count; i++) {
    snprintf(order + strlen(order), sizeof order - strlen(order), " %d/%d", level_of(&got, i),
             got.labels[i]);
    /* the JPEG (30) decodes to within 2 levels of its pixels, the PNGs exactly */
    same &= i < 7 && abs(level_of(&got, i) - train_levels[i]) <= (train_levels[i] == 30 ? 2 : 0) &&
            got.labels[i] == train_labels[i];
  }
  for (int i = 0; i < 7; i++)
    snprintf(want + strlen(want), sizeof want - strlen(want), " %d/%d", train_levels[i],
             train_labels[i]);
  CHECK_MSG(same, "uncropped %d: images (level/label) taken as%s, not%s", uncropped, order, want);
  CHECK_EQ_INT(got.skipped, 4);
  for (int s = 0; s < 4 && s < got.skipped; s++)
    CHECK_MSG(strstr(got.skipped_paths[s], skipped_names[s]) &&
                  strstr(got.skipped_paths[s], skipped_reasons[s]),
              "skipped %d: '%s', expected %s: ...%s", s, got.skipped_paths[s], skipped_names[s],
              skipped_reasons[s]);
  CHECK_EQ_INT(got.unread_format_files, 2);
  char example[1024];
  in_tree(example, sizeof example, "train/cat/a.bmp");
  CHECK_MSG(!strcmp(got.unread_formats, ".bmp, .webp") && got.unread_format_example &&
                !strcmp(got.unread_format_example, example),
            "unread formats '%s', example %s", got.unread_formats,
            got.unread_format_example ? got.unread_format_example : "none");
  ipro_dataset_free(&got);
}

static void val_split(void) {
  ipro_dataset got;
  ipro_error err = {{0}};
  ipro_status status = load(IPRO_SPLIT_TEST, false, false, &got, &err);
  CHECK_MSG(status == IPRO_OK, "val: %s", err.message);
  if (status != IPRO_OK) return;
  CHECK_EQ_INT(got.count, 2);
  CHECK_MSG(got.count == 2 && level_of(&got, 0) == 80 && level_of(&got, 1) == 90 &&
                got.labels[0] == 0 && got.labels[1] == 1,
            "val images or labels differ");
  char example[1024];
  in_tree(example, sizeof example, "val/dog/r.tiff");
  CHECK_EQ_INT(got.unread_format_files, 1);
  CHECK_MSG(!strcmp(got.unread_formats, ".tiff") && got.unread_format_example &&
                !strcmp(got.unread_format_example, example),
            "val: unread formats '%s', example %s", got.unread_formats,
            got.unread_format_example ? got.unread_format_example : "none");
  ipro_dataset_free(&got);
}

static void strict(void) {
  ipro_dataset got;
  ipro_error err = {{0}};
  ipro_status status = load(IPRO_SPLIT_TRAIN, true, false, &got, &err);
  CHECK_MSG(status == IPRO_ERROR && strstr(err.message, "/train/cat/gone.png: a dangling") &&
                strstr(err.message, "strict"),
            "strict load: %s", status ? err.message : "succeeded");
}

/* A class folder whose only image is a dangling link; one whose only images are of unread
 * formats (named: those present, not every format infopro does not read, while another class of
 * the tree holds a .webp). Each is one error naming the folder. */
static void classes_without_images(void) {
  ipro_dataset got;
  ipro_error err = {{0}};
  char fox[1024];
  in_tree(fox, sizeof fox, "train/fox");
  CHECK(mkdir(fox, 0755) == 0);
  link_in_tree("missing.jpg", "train/fox/only.jpg");
  ipro_status status = load(IPRO_SPLIT_TRAIN, false, false, &got, &err);
  CHECK_MSG(status == IPRO_ERROR && strstr(err.message, "/train/fox:") &&
                strstr(err.message, "none of its 1 image files could be read") &&
                strstr(err.message, "only.jpg: a dangling symbolic link"),
            "a class of one dangling link: %s", status ? err.message : "accepted");
  ipro_test_remove_directory(fox);
  char emu[1024];
  in_tree(emu, sizeof emu, "train/emu");
  some_bytes("train/emu/e1.bmp", "BM");
  some_bytes("train/emu/e2.tif", "II*");
  status = load(IPRO_SPLIT_TRAIN, false, false, &got, &err);
  CHECK_MSG(status == IPRO_ERROR &&
                strstr(err.message, "/train/emu holds no .png, .jpg or .jpeg") &&
                strstr(err.message,
                       "its 2 image files are of formats infopro does not read (.bmp, .tif)"),
            "a class of unread formats: %s", status ? err.message : "accepted");
  ipro_test_remove_directory(emu);
}

/* An image its reader may not open (mode 000) is skipped with the system's reason. Root opens it
 * anyway, so this is checked only when not run as root. */
static void unreadable_file(void) {
  if (geteuid() == 0) {
    printf("note: run as root, an image of mode 000 is readable: its message is not checked\n");
    return;
  }
  char path[1024];
  grey_png("train/dog/locked.png", 1);
  in_tree(path, sizeof path, "train/dog/locked.png");
  CHECK(chmod(path, 0) == 0);
  ipro_dataset got;
  ipro_error err = {{0}};
  ipro_status status = load(IPRO_SPLIT_TRAIN, false, false, &got, &err);
  CHECK_MSG(status == IPRO_OK, "%s", err.message);
  bool named = false;
  for (int64_t s = 0; status == IPRO_OK && s < got.skipped; s++)
    named |= strstr(got.skipped_paths[s], "locked.png: cannot open: Permission denied") != NULL;
  CHECK_MSG(named, "an image of mode 000 is not skipped as 'cannot open: Permission denied'");
  if (status == IPRO_OK) ipro_dataset_free(&got);
  unlink(path);
}

int main(void) {
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  write_tree();
  taken_in_order(false);
  taken_in_order(true);
  val_split();
  strict();
  classes_without_images();
  unreadable_file();
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
