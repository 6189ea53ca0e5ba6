/* Text a model or a dataset supplies (node, tensor and class names, the producer, metadata), made
 * safe to show a person.
 *
 * An ONNX name is any byte string, and a directory of images can be named anything: written to a
 * terminal as it is, an escape sequence in a node's name could clear the screen, move the cursor
 * over the lines before it or retitle the window, and a newline in it would forge a line of
 * infopro's own output. Wherever such text is printed (and in every ipro_error message, error.c),
 * each control character — C0 (below 0x20, tab and newline included), DEL, and C1 (U+0080 to
 * U+009F, the bytes 0xC2 0x80 to 0xC2 0x9F in UTF-8) — is written as \xNN instead, byte by byte.
 * Every other byte passes unchanged, so names in any script read as they are. */
#ifndef IPRO_PRINTABLE_H
#define IPRO_PRINTABLE_H

#include <stddef.h>

/* How many bytes at text form one control character: 1 for C0 and DEL, 2 for C1, 0 otherwise. */
size_t ipro_control_length(const char *text);

/* Room for a shown name: longer escaped text is cut and ends in "..." */
#define IPRO_PRINTABLE_MAX 1024

/* text when it holds no control character (no copy); otherwise its escaped form in buffer
 * (capacity at least 8 bytes), cut to fit with "..." at the end. */
const char *ipro_printable(const char *text, char *buffer, size_t capacity);

#endif
