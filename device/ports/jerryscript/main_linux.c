/* The port on Linux, against a JerryScript 3.0 checkout (CMakeLists.txt, MORSEL_JERRYSCRIPT_SRC):
 *   morsel-jerry --measure RUNTIME BLOB INPUT_HEX
 *       runs the runtime (source, or a .snapshot from `jerry-snapshot generate`), loads BLOB through
 *       morsel_storage_read (an external ArrayBuffer over the file's mapping), runs one inference and prints
 *       `MORSEL_BOOT <ms to evaluate the runtime>, heap <bytes>` and
 *       `MORSEL_MEMORY <heap bytes after the runtime> <heap bytes after load + inference> <ms> 0 <output hex>`
 *   morsel-jerry --agent RUNTIME AGENT STORAGE_DIR
 *       a board: the agent speaks the binary protocol on stdin/stdout (put a pty there with socat), blobs in
 *       STORAGE_DIR. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "morsel_port.h"

static double
now_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec * 1000.0 + (double) t.tv_nsec / 1e6;
}

static double boot_ms;
static double
millis (void)
{
  return now_ms () - boot_ms;
}

static void
uart_write (const uint8_t *bytes, size_t length)
{
  while (length > 0)
  {
    ssize_t n = write (STDOUT_FILENO, bytes, length);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    bytes += n;
    length -= (size_t) n;
  }
}

static bool
ends_with (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a >= b && strcmp (s + a - b, suffix) == 0;
}

/* Evaluates a script file. A snapshot is read into memory it may write and kept for the engine's lifetime: its
 * byte code runs in place, and JerryScript 3.0 writes into a snapshot buffer while loading it (a read-only
 * mapping crashes in snapshot_load_compiled_code, even with JERRY_SNAPSHOT_EXEC_COPY_DATA). */
static bool
eval_file (const char *path)
{
  size_t length = 0;
  void *handle = NULL;
  const uint8_t *mapped = morsel_port_map (path, &length, &handle);
  if (mapped == NULL)
  {
    fprintf (stderr, "morsel: cannot read %s\n", path);
    return false;
  }
  if (!ends_with (path, ".snapshot"))
  {
    bool ok = morsel_port_eval (mapped, length, false);
    morsel_port_unmap (mapped, length, handle);
    return ok;
  }
  uint32_t *snapshot = (uint32_t *) malloc (length + sizeof (uint32_t));
  if (snapshot != NULL)
    memcpy (snapshot, mapped, length);
  morsel_port_unmap (mapped, length, handle);
  return snapshot != NULL && morsel_port_eval ((const uint8_t *) snapshot, length, true);
}

/* Loads the blob from the store as the agent does, runs one inference on the input, keeps ms and output hex. */
static const char MEASURE_DRIVER[] =
  "var __m = Morsel.load(new Uint8Array(morsel_storage_read(__name)));"
  "var __x = new Int8Array(__input.length / 2);"
  "for (var i = 0; i < __x.length; i++) __x[i] = parseInt(__input.substr(2 * i, 2), 16);"
  "var __t = morsel_millis(), __y = __m.invoke(__x), __ms = morsel_millis() - __t, __o = '';"
  "for (var j = 0; j < __y.length; j++) { var v = (__y[j] + 256) % 256; __o += (v < 16 ? '0' : '') + v.toString(16); }";

static int
measure (const char *runtime, const char *blob, const char *input_hex)
{
  double t0 = millis ();
  if (!eval_file (runtime))
    return 1;
  double boot = millis () - t0;
  long base = morsel_port_heap_allocated (true);
  printf ("MORSEL_BOOT %.3f ms, heap %ld bytes after the runtime\n", boot, base);
  const char *name = strrchr (blob, '/') ? strrchr (blob, '/') + 1 : blob;
  jerry_value_t global = jerry_current_realm ();
  jerry_value_t name_value = jerry_string_sz (name), hex = jerry_string_sz (input_hex);
  jerry_value_free (jerry_object_set_sz (global, "__name", name_value));
  jerry_value_free (jerry_object_set_sz (global, "__input", hex));
  jerry_value_free (name_value);
  jerry_value_free (hex);
  if (!morsel_port_eval ((const uint8_t *) MEASURE_DRIVER, strlen (MEASURE_DRIVER), false))
  {
    jerry_value_free (global);
    return 1;
  }
  jerry_value_t ms = jerry_object_get_sz (global, "__ms");
  jerry_value_t out = jerry_object_get_sz (global, "__o");
  char out_hex[8192];
  jerry_size_t k = jerry_string_to_buffer (out, JERRY_ENCODING_UTF8, (jerry_char_t *) out_hex, sizeof (out_hex) - 1);
  out_hex[k] = '\0';
  double inference_ms = jerry_value_as_number (ms);
  jerry_value_free (ms);
  jerry_value_free (out);
  jerry_value_free (global);
  long after = morsel_port_heap_allocated (true);
  printf ("MORSEL_MEMORY %ld %ld %.3f 0 %s\n", base, after, inference_ms, out_hex);
  return 0;
}

static int
agent (const char *runtime, const char *agent_bundle)
{
  if (!eval_file (runtime) || !eval_file (agent_bundle))
    return 1;
  jerry_value_t global = jerry_current_realm ();
  jerry_value_t api = jerry_object_get_sz (global, "MorselAgent");
  jerry_value_t start = jerry_object_get_sz (api, "jerryscript");
  jerry_value_t board_agent = jerry_call (start, api, NULL, 0);
  jerry_value_free (start);
  jerry_value_free (api);
  jerry_value_free (global);
  if (jerry_value_is_exception (board_agent))
  {
    fprintf (stderr, "morsel: the agent did not start\n");
    jerry_value_free (board_agent);
    return 1;
  }
  double next_tick = millis () + 250;
  uint8_t buffer[4096];
  for (;;)
  {
    struct pollfd in = { STDIN_FILENO, POLLIN, 0 };
    int wait = (int) (next_tick - millis ());
    int ready = poll (&in, 1, wait > 0 ? wait : 0);
    if (ready > 0)
    {
      ssize_t n = read (STDIN_FILENO, buffer, sizeof (buffer));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
        break;
      if (n > 0)
        morsel_port_feed (board_agent, buffer, (size_t) n);
    }
    if (millis () >= next_tick)
    {
      morsel_port_tick (board_agent);
      next_tick = millis () + 250;
    }
  }
  jerry_value_free (board_agent);
  return 0;
}

int
main (int argc, char **argv)
{
  boot_ms = now_ms ();
  const char *storage = argc >= 5 && strcmp (argv[1], "--agent") == 0 ? argv[4] : NULL;
  static char blob_dir[512];
  if (argc >= 5 && strcmp (argv[1], "--measure") == 0)
  {
    snprintf (blob_dir, sizeof (blob_dir), "%s", argv[3]);
    char *slash = strrchr (blob_dir, '/');
    if (slash != NULL)
      *slash = '\0';
    else
      snprintf (blob_dir, sizeof (blob_dir), ".");
    storage = blob_dir;
  }
  if (storage == NULL)
  {
    fprintf (stderr,
             "usage: morsel-jerry --measure RUNTIME BLOB INPUT_HEX | --agent RUNTIME AGENT STORAGE_DIR\n");
    return 2;
  }
  morsel_board_t board = { uart_write, millis, storage, 4u << 20, "linux-jerryscript" };
  jerry_init (JERRY_INIT_EMPTY);
  morsel_port_init (&board);
  int status = strcmp (argv[1], "--measure") == 0 ? measure (argv[2], argv[3], argv[4]) : agent (argv[2], argv[3]);
  jerry_cleanup ();
  return status;
}
