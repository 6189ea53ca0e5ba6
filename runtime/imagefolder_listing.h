/* Which files of an image folder's class folder are its images, before any is read
 * (dataset_imagefolder.c decodes them).
 *
 * As torchvision's ImageFolder finds them (its make_dataset): every file below the class folder,
 * however deep, whose extension is an image's, walked with os.walk(followlinks=True) and taken
 * in the order `for root, _, names in sorted(os.walk(class_folder)): for name in sorted(names)`:
 * by the folder's path string, then by file name within a folder. Where this differs from
 * torchvision, it says so instead of taking or dropping files unseen:
 *   - an entry with an image's extension that is not a regular file once links are followed (a
 *     dangling link, a loop of links, a FIFO...) is listed with the reason it cannot be an image,
 *     which the loader then treats as an image that failed to decode;
 *   - a folder reached again through a link below itself (a loop) is not walked again, where
 *     os.walk would go round until the path grew too long;
 *   - files of image formats torchvision reads but this runtime does not (.bmp, .pgm,
 *     .ppm, .tif, .tiff, .webp) are counted, with the first one's path, for the caller to report.
 * Names starting with '.' (files and folders) are left out, as everywhere in an image folder,
 * where torchvision takes them: a .ipynb_checkpoints or .cache folder holds copies, not data. */
#ifndef IPRO_IMAGEFOLDER_LISTING_H
#define IPRO_IMAGEFOLDER_LISTING_H

#include <stddef.h>
#include <stdint.h>

#include "ir/error.h"

typedef struct {
  int64_t count, capacity;
  char **paths;    /* [count] */
  char **problems; /* [count] NULL, or why the file cannot be an image (a full message) */
  int32_t *labels; /* [count] the class index of each */
  /* files whose extension is that of an image format not decoded here */
  int64_t unread_format_files;
  unsigned unread_formats;     /* one bit per format seen, in the order of the list above */
  char *unread_format_example; /* the first of them, in the order images are taken in */
} ipro_imagefolder_files;

/* Appends the image files found below class_folder, with label, to files. A folder below it that
 * cannot be opened is an error, as the class folder is. */
ipro_status ipro_imagefolder_list_class(const char *class_folder, int32_t label,
                                        ipro_imagefolder_files *files, ipro_error *err);

/* "folder/name", newly allocated (NULL when out of memory). */
char *ipro_imagefolder_join_path(const char *folder, const char *name);

/* The extensions of the unread formats in the mask, as ".bmp, .webp". */
void ipro_imagefolder_unread_format_names(unsigned mask, char *text, size_t size);

void ipro_imagefolder_files_free(ipro_imagefolder_files *files);

#endif
