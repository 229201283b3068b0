// Message types and limits of the serial protocol (docs/protocol.md): the one source of these numbers.
// tools/gen-protocol.ts writes them into host/serial/protocol-codes.ts for the host (a test checks it is fresh).

var AGENT_VERSION = 1;

var MSG_HELLO = 1;
var MSG_PUT_BEGIN = 2;
var MSG_PUT_DATA = 3;
var MSG_COMMIT = 4;
var MSG_RUN = 5;
var MSG_CONFIG = 6;
var MSG_UNINSTALL = 7;
var MSG_READ = 8;
var MSG_WORKLOAD = 9;
var MSG_INFO = 129;
var MSG_PUT_ACK = 130;
var MSG_COMMITTED = 132;
var MSG_RESULT = 133;
var MSG_CONFIG_OK = 134;
var MSG_UNINSTALLED = 135;
var MSG_DATA = 136;
var MSG_WORKLOAD_OK = 137;
var MSG_TELEMETRY = 144;
var MSG_LOG = 145;
var MSG_ERROR = 238;

/** Largest payload a frame may carry: a 4 KiB PUT chunk plus its 5-byte header, with room to spare. */
var MAX_PAYLOAD = 4160;
/** The host must not start writing while a transfer is this recent, so unsolicited frames wait. */
var QUIET_AFTER_PUT_MS = 3000;
/** A tick starts no further workload inference after this long, so requests get answered between inferences. */
var WORKLOAD_SLICE_MS = 100;

/** Bytes of an HMAC-SHA256 tag in PUT_BEGIN and COMMIT on a keyed board (device/agent/auth.ts). */
var TAG_BYTES = 32;
