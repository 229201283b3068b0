/* The natives of device/agent/jerryscript.ts and device/platform/api.d.ts for JerryScript 3.0. Strings that carry
 * bytes ("binary strings": one character per byte, 0..255) cross as UTF-8, where 0x80..0xFF take two bytes. */
#include "morsel_port.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MORSEL_PATH_MAX
#define MORSEL_PATH_MAX 160
#endif
#define MORSEL_NAME_MAX 64

static const morsel_board_t *board;

/* An ArrayBuffer over a mapped file carries one of these as its user pointer; every other ArrayBuffer has
 * none and lives on the JerryScript heap. JerryScript frees every ArrayBuffer through one callback, so the
 * port allocates them all (else freeing an external buffer would hand flash to the heap's free list). */
typedef struct mapped_file_t
{
  size_t length;
  void *unmap_handle;
} mapped_file_t;

static uint8_t *
arraybuffer_allocate (jerry_arraybuffer_type_t type, uint32_t size, void **buffer_user_p, void *user_p)
{
  (void) type;
  (void) user_p;
  *buffer_user_p = NULL;
  return (uint8_t *) jerry_heap_alloc (size);
}

static void
arraybuffer_free (jerry_arraybuffer_type_t type, uint8_t *buffer, uint32_t size, void *buffer_user_p, void *user_p)
{
  (void) type;
  (void) user_p;
  mapped_file_t *mapped = (mapped_file_t *) buffer_user_p;
  if (mapped == NULL)
  {
    jerry_heap_free (buffer, size);
    return;
  }
  morsel_port_unmap (buffer, mapped->length, mapped->unmap_handle);
  free (mapped);
}

/* ---- values ---- */

static jerry_value_t
throw_error (const char *message)
{
  return jerry_throw_sz (JERRY_ERROR_TYPE, message);
}

/* A binary string's bytes into out (capacity bytes); returns the byte count, or -1 if not a binary string. */
static long
binary_string_bytes (jerry_value_t value, uint8_t *out, size_t capacity)
{
  jerry_size_t utf8_size = jerry_string_size (value, JERRY_ENCODING_UTF8);
  uint8_t *utf8 = (uint8_t *) malloc (utf8_size ? utf8_size : 1);
  if (utf8 == NULL)
    return -1;
  jerry_string_to_buffer (value, JERRY_ENCODING_UTF8, utf8, utf8_size);
  size_t n = 0;
  for (size_t i = 0; i < utf8_size && n < capacity; i++)
  {
    uint8_t c = utf8[i];
    if (c < 0x80)
      out[n++] = c;
    else if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8_size)
      out[n++] = (uint8_t) (((c & 0x1F) << 6) | (utf8[++i] & 0x3F));
    else
    {
      free (utf8);
      return -1;
    }
  }
  free (utf8);
  return (long) n;
}

static jerry_value_t
binary_string (const uint8_t *bytes, size_t length)
{
  uint8_t *utf8 = (uint8_t *) malloc (2 * length + 1);
  if (utf8 == NULL)
    return throw_error ("MRSL_E_IO: out of memory");
  size_t n = 0;
  for (size_t i = 0; i < length; i++)
  {
    if (bytes[i] < 0x80)
      utf8[n++] = bytes[i];
    else
    {
      utf8[n++] = (uint8_t) (0xC0 | (bytes[i] >> 6));
      utf8[n++] = (uint8_t) (0x80 | (bytes[i] & 0x3F));
    }
  }
  jerry_value_t s = jerry_string (utf8, (jerry_size_t) n, JERRY_ENCODING_UTF8);
  free (utf8);
  return s;
}

/* A store file's path from a name argument (no directories: the agent's names are flat). */
static bool
store_path (jerry_value_t name, char *path)
{
  char file[MORSEL_NAME_MAX + 1];
  if (!jerry_value_is_string (name))
    return false;
  jerry_size_t n = jerry_string_to_buffer (name, JERRY_ENCODING_UTF8, (jerry_char_t *) file, MORSEL_NAME_MAX);
  file[n] = '\0';
  if (n == 0 || n == MORSEL_NAME_MAX || strchr (file, '/') != NULL || file[0] == '.')
    return false;
  return snprintf (path, MORSEL_PATH_MAX, "%s/%s", board->storage_dir, file) < MORSEL_PATH_MAX;
}

/* The bytes a typed array views: data, length (in elements of 1 byte for Int8/Uint8 arrays). */
static int8_t *
typedarray_bytes (jerry_value_t array, jerry_size_t *length)
{
  jerry_size_t offset = 0;
  jerry_value_t buffer = jerry_typedarray_buffer (array, &offset, length);
  if (jerry_value_is_exception (buffer))
  {
    jerry_value_free (buffer);
    return NULL;
  }
  uint8_t *data = jerry_arraybuffer_data (buffer);
  jerry_value_free (buffer);
  return data == NULL ? NULL : (int8_t *) (data + offset);
}

#define HANDLER(name) \
  static jerry_value_t name (const jerry_call_info_t *call_info, const jerry_value_t args[], const jerry_length_t argc)
#define UNUSED_CALL_INFO (void) call_info

/* ---- kernels ---- */

/* dot_s8(a, aOff, b, bOff, n) → Σ_{i<n} a[aOff+i]·b[bOff+i]; the runtime guarantees the ranges (README). */
HANDLER (dot_s8)
{
  UNUSED_CALL_INFO;
  if (argc < 5)
    return throw_error ("dot_s8: 5 arguments");
  jerry_size_t a_length, b_length;
  const int8_t *a = typedarray_bytes (args[0], &a_length);
  const int8_t *b = typedarray_bytes (args[2], &b_length);
  uint32_t a_off = (uint32_t) jerry_value_as_number (args[1]);
  uint32_t b_off = (uint32_t) jerry_value_as_number (args[3]);
  uint32_t n = (uint32_t) jerry_value_as_number (args[4]);
  if (a == NULL || b == NULL || a_off + n > a_length || b_off + n > b_length)
    return throw_error ("dot_s8: range");
  a += a_off;
  b += b_off;
  int32_t sum = 0;
  for (uint32_t i = 0; i < n; i++)
    sum += (int32_t) a[i] * (int32_t) b[i];
  return jerry_number (sum);
}

/* ---- board ---- */

HANDLER (morsel_uart_write)
{
  UNUSED_CALL_INFO;
  if (argc < 1 || !jerry_value_is_string (args[0]))
    return throw_error ("morsel_uart_write: a binary string");
  size_t capacity = jerry_string_length (args[0]);
  uint8_t *bytes = (uint8_t *) malloc (capacity ? capacity : 1);
  long n = bytes == NULL ? -1 : binary_string_bytes (args[0], bytes, capacity);
  if (n >= 0)
    board->uart_write (bytes, (size_t) n);
  free (bytes);
  return n < 0 ? throw_error ("morsel_uart_write: not a binary string") : jerry_undefined ();
}

HANDLER (morsel_millis)
{
  UNUSED_CALL_INFO;
  (void) args;
  (void) argc;
  return jerry_number (board->millis ());
}

HANDLER (morsel_device_id)
{
  UNUSED_CALL_INFO;
  (void) args;
  (void) argc;
  return jerry_string_sz (board->device_id);
}

long
morsel_port_heap_allocated (bool collect)
{
  jerry_heap_stats_t stats;
  if (collect)
    jerry_heap_gc (JERRY_GC_PRESSURE_HIGH);
  memset (&stats, 0, sizeof (stats));
  if (!jerry_heap_stats (&stats))
    return -1;
  return (long) stats.allocated_bytes;
}

HANDLER (morsel_free_heap)
{
  UNUSED_CALL_INFO;
  (void) args;
  (void) argc;
  jerry_heap_stats_t stats;
  memset (&stats, 0, sizeof (stats));
  if (!jerry_heap_stats (&stats))
    return jerry_number (-1);
  return jerry_number ((double) (stats.size - stats.allocated_bytes));
}

HANDLER (morsel_storage_capacity)
{
  UNUSED_CALL_INFO;
  (void) args;
  (void) argc;
  return jerry_number (board->storage_capacity);
}

/* The whole file as an ArrayBuffer over its read-only mapping (the blob is never copied into the heap). */
HANDLER (morsel_storage_read)
{
  UNUSED_CALL_INFO;
  char path[MORSEL_PATH_MAX];
  if (argc < 1 || !store_path (args[0], path))
    return throw_error ("MRSL_E_IO: bad file name");
  size_t length = 0;
  void *handle = NULL;
  const uint8_t *data = morsel_port_map (path, &length, &handle);
  if (data == NULL)
    return jerry_undefined ();
  mapped_file_t *mapped = (mapped_file_t *) malloc (sizeof (mapped_file_t));
  if (mapped == NULL)
  {
    morsel_port_unmap (data, length, handle);
    return throw_error ("MRSL_E_IO: out of memory");
  }
  mapped->length = length;
  mapped->unmap_handle = handle;
  /* JerryScript takes a non-const pointer; the runtime only reads the blob. */
  return jerry_arraybuffer_external ((uint8_t *) data, (jerry_length_t) length, mapped);
}

/* Writes bytes at offset into a file of `total` bytes, creating it (at its full size) on the first write. */
HANDLER (morsel_storage_write)
{
  UNUSED_CALL_INFO;
  char path[MORSEL_PATH_MAX];
  jerry_size_t length;
  if (argc < 4 || !store_path (args[0], path))
    return throw_error ("MRSL_E_IO: bad file name");
  const int8_t *bytes = typedarray_bytes (args[1], &length);
  double offset = jerry_value_as_number (args[2]), total = jerry_value_as_number (args[3]);
  if (bytes == NULL || offset < 0 || offset + length > total || total > board->storage_capacity)
    return throw_error ("MRSL_E_IO: bad write");
  FILE *f = fopen (path, "r+b");
  if (f == NULL)
    f = fopen (path, "w+b");
  if (f == NULL)
    return throw_error ("MRSL_E_IO: cannot open");
  bool ok = fseek (f, (long) offset, SEEK_SET) == 0 && fwrite (bytes, 1, length, f) == length;
  ok = fclose (f) == 0 && ok;
  return ok ? jerry_undefined () : throw_error ("MRSL_E_IO: write failed");
}

/* Replaces a small file in one step: written beside it, then renamed over it (rename is atomic on POSIX and
 * on the ESP-IDF file systems that support it). */
HANDLER (morsel_storage_replace)
{
  UNUSED_CALL_INFO;
  char path[MORSEL_PATH_MAX], temporary[MORSEL_PATH_MAX + 4];
  if (argc < 2 || !store_path (args[0], path) || !jerry_value_is_string (args[1]))
    return throw_error ("MRSL_E_IO: bad file name");
  snprintf (temporary, sizeof (temporary), "%s.new", path);
  size_t capacity = jerry_string_length (args[1]);
  uint8_t *bytes = (uint8_t *) malloc (capacity ? capacity : 1);
  long n = bytes == NULL ? -1 : binary_string_bytes (args[1], bytes, capacity);
  FILE *f = n < 0 ? NULL : fopen (temporary, "wb");
  bool ok = f != NULL && fwrite (bytes, 1, (size_t) n, f) == (size_t) n;
  if (f != NULL)
    ok = fclose (f) == 0 && ok;
  free (bytes);
  ok = ok && rename (temporary, path) == 0;
  return ok ? jerry_undefined () : throw_error ("MRSL_E_IO: replace failed");
}

HANDLER (morsel_storage_erase)
{
  UNUSED_CALL_INFO;
  char path[MORSEL_PATH_MAX];
  if (argc < 1 || !store_path (args[0], path))
    return throw_error ("MRSL_E_IO: bad file name");
  remove (path);
  return jerry_undefined ();
}

static void
register_native (const char *name, jerry_external_handler_t handler)
{
  jerry_value_t global = jerry_current_realm ();
  jerry_value_t fn = jerry_function_external (handler);
  jerry_value_free (jerry_object_set_sz (global, name, fn));
  jerry_value_free (fn);
  jerry_value_free (global);
}

void
morsel_port_init (const morsel_board_t *b)
{
  board = b;
  jerry_arraybuffer_allocator (arraybuffer_allocate, arraybuffer_free, NULL);
  register_native ("dot_s8", dot_s8);
  register_native ("morsel_uart_write", morsel_uart_write);
  register_native ("morsel_millis", morsel_millis);
  register_native ("morsel_device_id", morsel_device_id);
  register_native ("morsel_free_heap", morsel_free_heap);
  register_native ("morsel_storage_capacity", morsel_storage_capacity);
  register_native ("morsel_storage_read", morsel_storage_read);
  register_native ("morsel_storage_write", morsel_storage_write);
  register_native ("morsel_storage_replace", morsel_storage_replace);
  register_native ("morsel_storage_erase", morsel_storage_erase);
}

static bool
report_exception (jerry_value_t result)
{
  if (!jerry_value_is_exception (result))
  {
    jerry_value_free (result);
    return true;
  }
  jerry_value_t error = jerry_exception_value (result, true);
  jerry_value_t text = jerry_value_to_string (error);
  char message[256];
  jerry_size_t n = jerry_string_to_buffer (text, JERRY_ENCODING_UTF8, (jerry_char_t *) message, sizeof (message) - 1);
  message[n] = '\0';
  fprintf (stderr, "morsel: uncaught %s\n", message);
  jerry_value_free (text);
  jerry_value_free (error);
  return false;
}

bool
morsel_port_eval (const uint8_t *code, size_t length, bool is_snapshot)
{
  if (is_snapshot)
    return report_exception (jerry_exec_snapshot ((const uint32_t *) code, length, 0, 0, NULL));
  jerry_value_t script = jerry_parse (code, length, NULL);
  if (jerry_value_is_exception (script))
    return report_exception (script);
  jerry_value_t result = jerry_run (script);
  jerry_value_free (script);
  return report_exception (result);
}

static void
call_method (jerry_value_t object, const char *method, const jerry_value_t *args, jerry_length_t argc)
{
  jerry_value_t fn = jerry_object_get_sz (object, method);
  report_exception (jerry_call (fn, object, args, argc));
  jerry_value_free (fn);
}

void
morsel_port_feed (jerry_value_t agent, const uint8_t *bytes, size_t length)
{
  jerry_value_t s = binary_string (bytes, length);
  call_method (agent, "feed", &s, 1);
  jerry_value_free (s);
}

void
morsel_port_tick (jerry_value_t agent)
{
  call_method (agent, "tick", NULL, 0);
}
