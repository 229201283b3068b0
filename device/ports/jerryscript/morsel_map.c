/* Read-only access to a file of the blob store for morsel_storage_read. On Linux (and any POSIX system) the file
 * is memory-mapped, so the blob stays in the page cache and out of the JerryScript heap, as it stays in flash on a
 * board. On ESP-IDF, files on SPIFFS/LittleFS cannot be mapped: the blob is read once into the system heap
 * (still outside the JerryScript heap); a firmware that keeps the blob in a raw data partition maps it with
 * esp_partition_mmap instead and passes that pointer to jerry_arraybuffer_external. */
#include <stdio.h>
#include <stdlib.h>

#include "morsel_port.h"

#ifdef ESP_PLATFORM

const uint8_t *
morsel_port_map (const char *path, size_t *length, void **unmap_handle)
{
  FILE *f = fopen (path, "rb");
  if (f == NULL)
    return NULL;
  long size = (fseek (f, 0, SEEK_END) == 0) ? ftell (f) : -1;
  uint8_t *data = size > 0 ? (uint8_t *) malloc ((size_t) size) : NULL;
  bool ok = data != NULL && fseek (f, 0, SEEK_SET) == 0 && fread (data, 1, (size_t) size, f) == (size_t) size;
  fclose (f);
  if (!ok)
  {
    free (data);
    return NULL;
  }
  *length = (size_t) size;
  *unmap_handle = data;
  return data;
}

void
morsel_port_unmap (const uint8_t *data, size_t length, void *unmap_handle)
{
  (void) data;
  (void) length;
  free (unmap_handle);
}

#else /* POSIX */

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const uint8_t *
morsel_port_map (const char *path, size_t *length, void **unmap_handle)
{
  int fd = open (path, O_RDONLY);
  if (fd < 0)
    return NULL;
  struct stat st;
  void *data = MAP_FAILED;
  if (fstat (fd, &st) == 0 && st.st_size > 0)
    data = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close (fd);
  if (data == MAP_FAILED)
    return NULL;
  *length = (size_t) st.st_size;
  *unmap_handle = NULL;
  return (const uint8_t *) data;
}

void
morsel_port_unmap (const uint8_t *data, size_t length, void *unmap_handle)
{
  (void) unmap_handle;
  munmap ((void *) data, length);
}

#endif
