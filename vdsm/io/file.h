/* vdsm/io/file.h: a whole small file (JSON, YAML, a log) read into memory. */
#ifndef VDSM_IO_FILE_H
#define VDSM_IO_FILE_H
#include <stddef.h>

/* The contents of path, NUL-terminated and malloc'd (the caller frees), its length in *len when
 * len is not NULL; NULL when the file cannot be opened or read (errno says why). */
char *vdsm_file_read(const char *path, size_t *len);
#endif
