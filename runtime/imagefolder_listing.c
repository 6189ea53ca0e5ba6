/* Finding a class folder's images in torchvision's order (see imagefolder_listing.h).
 *
 * The walk gathers every file of interest as (folder path, name) and sorts the pairs once at
 * the end: sorting full paths instead would put DIR/cat/a/x.png before DIR/cat/z.png, where
 * torchvision, sorting the folders (os.walk's roots) and then the names within each, takes
 * DIR/cat/z.png first; and a depth-first walk would put DIR/cat/a/sub before DIR/cat/a-b, which
 * sorts first ('-' is below '/').
 *
 * A loop is a folder whose device and inode are those of a folder on the path that led to it.
 * Only that path is remembered, not every folder seen: two links to one folder are a diamond,
 * not a loop, and torchvision takes its images twice, so this does too. */
#include "imagefolder_listing.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The formats torchvision's ImageFolder (PIL) reads and the decoder here does not; a file of one
 * is counted, not taken. */
static const char *const unread_formats[] = {"bmp", "pgm", "ppm", "tif", "tiff", "webp"};
enum { UNREAD_FORMAT_COUNT = sizeof unread_formats / sizeof unread_formats[0] };

typedef enum { FOUND_IMAGE, FOUND_UNREAD_FORMAT } found_kind;

typedef struct {
  const char *folder; /* one of the walk's folder paths */
  char *name;
  char *problem; /* images only: why it cannot be one, or NULL */
  found_kind kind;
} found_file;

typedef struct {
  found_file *files;
  int64_t file_count, file_capacity;
  char **folders; /* every folder walked, owning the paths found_file.folder points to */
  int64_t folder_count, folder_capacity;
} walk_state;

/* A folder on the path from the class folder to the one being walked. */
typedef struct folder_identity {
  dev_t device;
  ino_t inode;
  const struct folder_identity *parent;
} folder_identity;

char *ipro_imagefolder_join_path(const char *folder, const char *name) {
  size_t length = strlen(folder) + strlen(name) + 2;
  char *path = malloc(length);
  if (path) snprintf(path, length, "%s/%s", folder, name);
  return path;
}

static char *copy_text(const char *text) {
  size_t length = strlen(text) + 1;
  char *copy = malloc(length);
  if (copy) memcpy(copy, text, length);
  return copy;
}

/* The name's extension in lower case ("" when it has none, or one longer than any we know). */
static void lower_extension(const char *name, char extension[8]) {
  const char *dot = strrchr(name, '.');
  extension[0] = '\0';
  if (!dot || strlen(dot + 1) > 7) return;
  size_t i = 0;
  for (; dot[i + 1]; i++)
    extension[i] = (char)tolower((unsigned char)dot[i + 1]);
  extension[i] = '\0';
}

static bool is_image_extension(const char *extension) {
  return !strcmp(extension, "png") || !strcmp(extension, "jpg") || !strcmp(extension, "jpeg");
}

static int unread_format_index(const char *extension) {
  for (int f = 0; f < UNREAD_FORMAT_COUNT; f++)
    if (!strcmp(extension, unread_formats[f])) return f;
  return -1;
}

static const char *file_type_name(mode_t mode) {
  return S_ISFIFO(mode)   ? "a FIFO"
         : S_ISSOCK(mode) ? "a socket"
         : S_ISCHR(mode)  ? "a character device"
         : S_ISBLK(mode)  ? "a block device"
                          : "not a file";
}

/* Why path, named like an image, is not a regular file once links are followed: stat_errno is
 * stat's errno, or 0 when stat succeeded with info. The message, as a decode failure's, names
 * the path; NULL when out of memory. */
static char *describe_problem(const char *path, int stat_errno, const struct stat *info) {
  ipro_error message;
  struct stat link_info;
  if (!stat_errno) {
    ipro_error_set(&message, "%s: not a regular file but %s", path, file_type_name(info->st_mode));
  } else if (lstat(path, &link_info) == 0 && S_ISLNK(link_info.st_mode)) {
    char target[512];
    ssize_t length = readlink(path, target, sizeof target - 1);
    target[length < 0 ? 0 : length] = '\0';
    if (stat_errno == ENOENT)
      ipro_error_set(&message, "%s: a dangling symbolic link (its target %s does not exist)", path,
                     target);
    else if (stat_errno == ELOOP)
      ipro_error_set(&message, "%s: a symbolic link in a loop of links (%s)", path,
                     strerror(stat_errno));
    else
      ipro_error_set(&message, "%s: a symbolic link whose target %s cannot be reached: %s", path,
                     target, strerror(stat_errno));
  } else {
    ipro_error_set(&message, "%s: cannot be read: %s", path, strerror(stat_errno));
  }
  return copy_text(message.message);
}

static bool add_found(walk_state *state, const char *folder, const char *name, char *problem,
                      found_kind kind) {
  if (state->file_count == state->file_capacity) {
    int64_t capacity = state->file_capacity ? state->file_capacity * 2 : 256;
    found_file *grown = realloc(state->files, sizeof(found_file) * (size_t)capacity);
    if (!grown) return false;
    state->files = grown, state->file_capacity = capacity;
  }
  char *copy = copy_text(name);
  if (!copy) return false;
  state->files[state->file_count++] =
      (found_file){.folder = folder, .name = copy, .problem = problem, .kind = kind};
  return true;
}

static char *add_folder(walk_state *state, const char *path) {
  if (state->folder_count == state->folder_capacity) {
    int64_t capacity = state->folder_capacity ? state->folder_capacity * 2 : 16;
    char **grown = realloc(state->folders, sizeof(char *) * (size_t)capacity);
    if (!grown) return NULL;
    state->folders = grown, state->folder_capacity = capacity;
  }
  char *copy = copy_text(path);
  if (copy) state->folders[state->folder_count++] = copy;
  return copy;
}

static bool on_path(const folder_identity *path, const struct stat *info) {
  for (; path; path = path->parent)
    if (path->device == info->st_dev && path->inode == info->st_ino) return true;
  return false;
}

/* Notes one entry of folder (whose path the state owns); a subfolder's name goes to subfolders. */
static ipro_status note_entry(walk_state *state, const char *folder, const char *name,
                              char ***subfolders, int *subfolder_count, ipro_error *err) {
  char *path = ipro_imagefolder_join_path(folder, name);
  if (!path) return ipro_error_set(err, "imagefolder: out of memory listing %s", folder);
  struct stat info;
  int stat_errno = stat(path, &info) == 0 ? 0 : errno;
  char extension[8];
  lower_extension(name, extension);
  bool noted = true;
  if (!stat_errno && S_ISDIR(info.st_mode)) {
    char *copy = copy_text(name);
    char **grown =
        copy ? realloc(*subfolders, sizeof(char *) * (size_t)(*subfolder_count + 1)) : NULL;
    if (grown)
      *subfolders = grown, grown[(*subfolder_count)++] = copy;
    else
      free(copy), noted = false;
  } else if (is_image_extension(extension)) {
    bool regular = !stat_errno && S_ISREG(info.st_mode);
    char *problem = regular ? NULL : describe_problem(path, stat_errno, &info);
    noted = (regular || problem) && add_found(state, folder, name, problem, FOUND_IMAGE);
    if (!noted) free(problem);
  } else if (unread_format_index(extension) >= 0) {
    noted = add_found(state, folder, name, NULL, FOUND_UNREAD_FORMAT);
  }
  free(path);
  return noted ? IPRO_OK : ipro_error_set(err, "imagefolder: out of memory listing %s", folder);
}

static ipro_status walk_folder(walk_state *state, const char *path, const folder_identity *above,
                               ipro_error *err) {
  DIR *dir = opendir(path);
  if (!dir)
    return ipro_error_set(err, "imagefolder: cannot open folder %s: %s", path, strerror(errno));
  struct stat info;
  if (fstat(dirfd(dir), &info) != 0) {
    int error = errno;
    closedir(dir);
    return ipro_error_set(err, "imagefolder: cannot read folder %s: %s", path, strerror(error));
  }
  if (on_path(above, &info)) { /* a loop: this folder's files are being taken already */
    closedir(dir);
    return IPRO_OK;
  }
  folder_identity self = {.device = info.st_dev, .inode = info.st_ino, .parent = above};
  const char *folder = add_folder(state, path);
  ipro_status status =
      folder ? IPRO_OK : ipro_error_set(err, "imagefolder: out of memory listing %s", path);
  char **subfolders = NULL;
  int subfolder_count = 0;
  struct dirent *entry;
  while (status == IPRO_OK && (entry = readdir(dir)))
    if (entry->d_name[0] != '.')
      status = note_entry(state, folder, entry->d_name, &subfolders, &subfolder_count, err);
  /* closed before going down, so that the depth of the tree is not the number of open folders */
  closedir(dir);
  for (int s = 0; s < subfolder_count; s++) {
    char *subfolder = status == IPRO_OK ? ipro_imagefolder_join_path(path, subfolders[s]) : NULL;
    if (status == IPRO_OK && !subfolder)
      status = ipro_error_set(err, "imagefolder: out of memory listing %s", path);
    if (status == IPRO_OK) status = walk_folder(state, subfolder, &self, err);
    free(subfolder);
    free(subfolders[s]);
  }
  free(subfolders);
  return status;
}

static int compare_found(const void *a, const void *b) {
  const found_file *x = a, *y = b;
  int by_folder = strcmp(x->folder, y->folder);
  return by_folder ? by_folder : strcmp(x->name, y->name);
}

static bool grow_files(ipro_imagefolder_files *files) {
  if (files->count < files->capacity) return true;
  int64_t capacity = files->capacity ? files->capacity * 2 : 1024;
  char **paths = realloc(files->paths, sizeof(char *) * (size_t)capacity);
  if (paths) files->paths = paths;
  char **problems = realloc(files->problems, sizeof(char *) * (size_t)capacity);
  if (problems) files->problems = problems;
  int32_t *labels = realloc(files->labels, sizeof *labels * (size_t)capacity);
  if (labels) files->labels = labels;
  if (!paths || !problems || !labels) return false;
  files->capacity = capacity;
  return true;
}

/* Moves the sorted finds into files: images appended, unread formats counted. */
static ipro_status take_found(walk_state *state, int32_t label, ipro_imagefolder_files *files,
                              ipro_error *err) {
  for (int64_t i = 0; i < state->file_count; i++) {
    found_file *found = &state->files[i];
    char *path = ipro_imagefolder_join_path(found->folder, found->name);
    if (!path) return ipro_error_set(err, "imagefolder: out of memory listing %s", found->folder);
    if (found->kind == FOUND_UNREAD_FORMAT) {
      char extension[8];
      lower_extension(found->name, extension);
      files->unread_formats |= 1u << unread_format_index(extension);
      files->unread_format_files++;
      if (!files->unread_format_example)
        files->unread_format_example = path;
      else
        free(path);
      continue;
    }
    if (!grow_files(files)) {
      free(path);
      return ipro_error_set(err, "imagefolder: out of memory listing %s", found->folder);
    }
    files->paths[files->count] = path;
    files->problems[files->count] = found->problem;
    files->labels[files->count++] = label;
    found->problem = NULL;
  }
  return IPRO_OK;
}

ipro_status ipro_imagefolder_list_class(const char *class_folder, int32_t label,
                                        ipro_imagefolder_files *files, ipro_error *err) {
  walk_state state = {0};
  ipro_status status = walk_folder(&state, class_folder, NULL, err);
  if (status == IPRO_OK && state.file_count)
    qsort(state.files, (size_t)state.file_count, sizeof(found_file), compare_found);
  if (status == IPRO_OK) status = take_found(&state, label, files, err);
  for (int64_t i = 0; i < state.file_count; i++) {
    free(state.files[i].name);
    free(state.files[i].problem);
  }
  free(state.files);
  for (int64_t i = 0; i < state.folder_count; i++)
    free(state.folders[i]);
  free(state.folders);
  return status;
}

void ipro_imagefolder_unread_format_names(unsigned mask, char *text, size_t size) {
  size_t used = 0;
  if (size) text[0] = '\0';
  for (int f = 0; f < UNREAD_FORMAT_COUNT; f++)
    if (mask & (1u << f) && used < size)
      used +=
          (size_t)snprintf(text + used, size - used, "%s.%s", used ? ", " : "", unread_formats[f]);
}

void ipro_imagefolder_files_free(ipro_imagefolder_files *files) {
  for (int64_t i = 0; i < files->count; i++) {
    free(files->paths[i]);
    free(files->problems ? files->problems[i] : NULL);
  }
  free(files->paths);
  free(files->problems);
  free(files->labels);
  free(files->unread_format_example);
  memset(files, 0, sizeof *files);
}
