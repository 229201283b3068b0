/* Morsel's JerryScript port: the native functions the device runtime and agent call
 * (device/agent/jerryscript.ts, device/platform/api.d.ts), for JerryScript 3.0.
 *
 * The firmware fills a morsel_board_t, calls morsel_port_init() after jerry_init(), evaluates the runtime and
 * the agent (source or snapshot: morsel_port_eval), calls MorselAgent.jerryscript() once, then passes UART
 * bytes to morsel_port_feed() and calls morsel_port_tick() every ~250 ms. The same sources build for ESP-IDF
 * (CMakeLists.txt as a component) and for Linux (main_linux.c). */
#ifndef MORSEL_PORT_H
#define MORSEL_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "jerryscript.h"

typedef struct morsel_board_t
{
  /** Sends bytes to the host (the UART the protocol runs on). */
  void (*uart_write) (const uint8_t *bytes, size_t length);
  /** Milliseconds since boot. */
  double (*millis) (void);
  /** Directory of the blob store: a VFS mount (SPIFFS/LittleFS) on ESP-IDF, any directory on Linux. */
  const char *storage_dir;
  /** Bytes the store can hold: the largest blob the agent accepts. */
  uint32_t storage_capacity;
  const char *device_id;
} morsel_board_t;

/** Registers the natives as globals and routes ArrayBuffer storage through the port (see morsel_port.c). */
void morsel_port_init (const morsel_board_t *board);

/** Runs a script: JerryScript source, or a snapshot made by `jerry-snapshot generate` when is_snapshot.
 *  Returns false (after printing the exception) when it throws. A snapshot's byte code runs in place, so its
 *  buffer must outlive the engine and be writable: JerryScript 3.0 writes into it while loading (a snapshot in
 *  read-only flash crashes); on an ESP32 copy it into the system heap, outside the JerryScript heap. */
bool morsel_port_eval (const uint8_t *code, size_t length, bool is_snapshot);

/** Passes bytes received on the UART to the agent (agent.feed). */
void morsel_port_feed (jerry_value_t agent, const uint8_t *bytes, size_t length);

/** The agent's periodic work (agent.tick). */
void morsel_port_tick (jerry_value_t agent);

/** Bytes allocated on the JerryScript heap (after a full collection when collect), or -1 without
 *  JERRY_MEM_STATS. */
long morsel_port_heap_allocated (bool collect);

/** Maps a file of the store read-only; *unmap_handle is passed to morsel_port_unmap. NULL when absent. */
const uint8_t *morsel_port_map (const char *path, size_t *length, void **unmap_handle);
void morsel_port_unmap (const uint8_t *data, size_t length, void *unmap_handle);

#endif /* MORSEL_PORT_H */
