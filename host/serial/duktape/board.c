/*
 * Emulated board for Duktape: evaluates the device runtime + agent script with a MorselHost object whose
 * UART is stdin/stdout and whose flash is a directory, and ticks the agent every 50 ms. The node side
 * (host/serial/device-engine.ts) bridges stdin/stdout to the pty; killing this process is a power cut.
 * A counting allocator enforces the board's RAM and reports what is free.
 *
 *   morsel-duk-board SCRIPT STORAGE_DIR RAM_BYTES FLASH_BYTES DEVICE_ID
 *
 * Strings: a JS char with code 0..255 is one byte on the wire; Duktape stores strings as CESU-8, so
 * bytes >= 0x80 are encoded as two-byte sequences going in and decoded coming out (U+0100, the agent's
 * stand-in for NUL, becomes 0).
 */
#include <duktape.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *storage_dir;
static size_t ram_limit, ram_used;

/* Each block carries its size in front so frees and reallocs can be counted. */
static void *count_alloc(void *ud, duk_size_t size) {
  (void)ud;
  if (size == 0) return NULL;
  if (ram_used + size > ram_limit) return NULL;
  size_t *p = malloc(size + sizeof(size_t));
  if (!p) return NULL;
  *p = size;
  ram_used += size;
  return p + 1;
}
static void count_free(void *ud, void *ptr) {
  (void)ud;
  if (!ptr) return;
  size_t *p = (size_t *)ptr - 1;
  ram_used -= *p;
  free(p);
}
static void *count_realloc(void *ud, void *ptr, duk_size_t size) {
  if (!ptr) return count_alloc(ud, size);
  if (size == 0) {
    count_free(ud, ptr);
    return NULL;
  }
  size_t *p = (size_t *)ptr - 1;
  size_t old = *p;
  if (size > old && ram_used + (size - old) > ram_limit) return NULL;
  size_t *q = realloc(p, size + sizeof(size_t));
  if (!q) return NULL;
  ram_used = ram_used - old + size;
  *q = size;
  return q + 1;
}

static void fatal(void *ud, const char *msg) {
  (void)ud;
  fprintf(stderr, "duktape fatal: %s\n", msg ? msg : "?");
  exit(70);
}

/* Bytes -> JS string of chars 0..255. */
static void push_bytes_as_string(duk_context *ctx, const unsigned char *b, size_t n) {
  unsigned char *tmp = malloc(2 * n + 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (b[i] < 0x80) tmp[o++] = b[i];
    else {
      tmp[o++] = 0xC0 | (b[i] >> 6);
      tmp[o++] = 0x80 | (b[i] & 0x3F);
    }
  }
  duk_push_lstring(ctx, (const char *)tmp, o);
  free(tmp);
}

/* JS string at idx -> bytes (each char's code modulo 256); caller frees. */
static unsigned char *string_to_bytes(duk_context *ctx, duk_idx_t idx, size_t *out_n) {
  duk_size_t n;
  const unsigned char *s = (const unsigned char *)duk_require_lstring(ctx, idx, &n);
  unsigned char *out = malloc(n + 1);
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    unsigned cp;
    if (c < 0x80) { cp = c; i += 1; }
    else if ((c & 0xE0) == 0xC0 && i + 1 < n) { cp = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F); i += 2; }
    else if ((c & 0xF0) == 0xE0 && i + 2 < n) { cp = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F); i += 3; }
    else { cp = c; i += 1; }
    out[o++] = (unsigned char)(cp & 0xFF);
  }
  *out_n = o;
  return out;
}

static int path_of(char *buf, size_t cap, const char *name) {
  for (const char *p = name; *p; p++) {
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-')) return -1;
  }
  if (name[0] == '.' || name[0] == 0 || strlen(name) > 28) return -1;
  snprintf(buf, cap, "%s/%s", storage_dir, name);
  return 0;
}

static unsigned char *read_file(const char *name, size_t *n) {
  char path[4096];
  if (path_of(path, sizeof path, name)) return NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
  *n = fread(b, 1, (size_t)len, f);
  fclose(f);
  return b;
}

static void write_all(int fd, const unsigned char *b, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      exit(0); /* the bridge is gone: power off */
    }
    b += w;
    n -= (size_t)w;
  }
}

static duk_ret_t host_write(duk_context *ctx) {
  size_t n;
  unsigned char *b = string_to_bytes(ctx, 0, &n);
  write_all(1, b, n);
  free(b);
  return 0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static duk_ret_t host_now(duk_context *ctx) {
  duk_push_number(ctx, now_ms());
  return 1;
}

static duk_ret_t host_read(duk_context *ctx) {
  size_t n;
  unsigned char *b = read_file(duk_require_string(ctx, 0), &n);
  if (!b) duk_push_null(ctx);
  else {
    push_bytes_as_string(ctx, b, n);
    free(b);
  }
  return 1;
}

static duk_ret_t host_read_bytes(duk_context *ctx) {
  size_t n;
  unsigned char *b = read_file(duk_require_string(ctx, 0), &n);
  if (!b) {
    duk_push_null(ctx);
    return 1;
  }
  void *buf = duk_push_fixed_buffer(ctx, n);
  memcpy(buf, b, n);
  free(b);
  duk_push_buffer_object(ctx, -1, 0, n, DUK_BUFOBJ_ARRAYBUFFER);
  return 1;
}

static duk_ret_t host_write_at(duk_context *ctx) {
  char path[4096];
  if (path_of(path, sizeof path, duk_require_string(ctx, 0))) return duk_error(ctx, DUK_ERR_TYPE_ERROR, "bad storage name");
  size_t n;
  unsigned char *b = string_to_bytes(ctx, 1, &n);
  long offset = (long)duk_require_number(ctx, 2), total = (long)duk_require_number(ctx, 3);
  int fd = open(path, O_RDWR | O_CREAT, 0644);
  if (fd < 0 || offset < 0 || offset + (long)n > total) {
    free(b);
    if (fd >= 0) close(fd);
    return duk_error(ctx, DUK_ERR_ERROR, "storage write failed");
  }
  if (lseek(fd, 0, SEEK_END) != total && ftruncate(fd, total) != 0) { free(b); close(fd); return duk_error(ctx, DUK_ERR_ERROR, "storage resize failed"); }
  ssize_t w = pwrite(fd, b, n, offset);
  close(fd);
  free(b);
  if (w != (ssize_t)n) return duk_error(ctx, DUK_ERR_ERROR, "storage write failed");
  return 0;
}

static duk_ret_t host_write_text(duk_context *ctx) {
  char path[4096], tmp[4200];
  if (path_of(path, sizeof path, duk_require_string(ctx, 0))) return duk_error(ctx, DUK_ERR_TYPE_ERROR, "bad storage name");
  size_t n;
  unsigned char *b = string_to_bytes(ctx, 1, &n);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  int ok = f && fwrite(b, 1, n, f) == n;
  if (f) ok = fclose(f) == 0 && ok;
  free(b);
  if (!ok || rename(tmp, path) != 0) return duk_error(ctx, DUK_ERR_ERROR, "storage replace failed");
  return 0;
}

static duk_ret_t host_erase(duk_context *ctx) {
  char path[4096];
  if (path_of(path, sizeof path, duk_require_string(ctx, 0))) return duk_error(ctx, DUK_ERR_TYPE_ERROR, "bad storage name");
  unlink(path);
  return 0;
}

static duk_ret_t host_free_ram(duk_context *ctx) {
  duk_push_number(ctx, (double)(ram_limit - ram_used));
  return 1;
}

/* Calls __agent[method](arg?) and reports (but survives) an exception, like a board's error log. */
static void call_agent(duk_context *ctx, const char *method, const unsigned char *bytes, size_t n, int with_arg) {
  duk_get_global_string(ctx, "__agent");
  duk_push_string(ctx, method);
  if (with_arg) push_bytes_as_string(ctx, bytes, n);
  if (duk_pcall_prop(ctx, -2 - with_arg, with_arg) != DUK_EXEC_SUCCESS) fprintf(stderr, "agent threw: %s\n", duk_safe_to_string(ctx, -1));
  duk_pop_2(ctx);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s SCRIPT STORAGE_DIR RAM_BYTES FLASH_BYTES DEVICE_ID\n", argv[0]);
    return 64;
  }
  storage_dir = argv[2];
  ram_limit = strtoul(argv[3], NULL, 10);
  size_t script_len;
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 66; }
  fseek(f, 0, SEEK_END);
  script_len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  char *script = malloc(script_len);
  if (fread(script, 1, script_len, f) != script_len) { perror(argv[1]); return 66; }
  fclose(f);

  duk_context *ctx = duk_create_heap(count_alloc, count_realloc, count_free, NULL, fatal);
  if (!ctx) { fprintf(stderr, "no heap within %zu bytes\n", ram_limit); return 71; }
  static const duk_function_list_entry fns[] = {
    { "write", host_write, 1 }, { "now", host_now, 0 }, { "read", host_read, 1 }, { "readBytes", host_read_bytes, 1 },
    { "writeAt", host_write_at, 4 }, { "writeText", host_write_text, 2 }, { "erase", host_erase, 1 }, { "freeRam", host_free_ram, 0 },
    { NULL, NULL, 0 },
  };
  duk_push_object(ctx);
  duk_put_function_list(ctx, -1, fns);
  duk_push_string(ctx, "duktape");
  duk_put_prop_string(ctx, -2, "engine");
  duk_push_string(ctx, argv[5]);
  duk_put_prop_string(ctx, -2, "deviceId");
  duk_push_number(ctx, strtod(argv[4], NULL));
  duk_put_prop_string(ctx, -2, "maxBlobBytes");
  duk_put_global_string(ctx, "MorselHost");
  duk_push_lstring(ctx, script, script_len);
  free(script);
  if (duk_peval(ctx) != 0) {
    fprintf(stderr, "device script failed: %s\n", duk_safe_to_string(ctx, -1));
    return 70;
  }
  duk_pop(ctx);
  /* The node side waits for this line: a board that runs out of RAM before it prints it never booted. */
  fprintf(stderr, "morsel-board: ready\n");
  fflush(stderr);

  unsigned char buf[8192];
  double next_tick = now_ms() + 50;
  for (;;) {
    struct pollfd p = { 0, POLLIN, 0 };
    int wait = (int)(next_tick - now_ms());
    int r = poll(&p, 1, wait > 0 ? wait : 0);
    if (r > 0) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n <= 0) break; /* stdin closed: power off */
      call_agent(ctx, "feed", buf, (size_t)n, 1);
    }
    if (now_ms() >= next_tick) {
      call_agent(ctx, "tick", NULL, 0, 0);
      next_tick = now_ms() + 50;
    }
  }
  duk_destroy_heap(ctx);
  return 0;
}
