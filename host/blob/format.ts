/** Newest blob format version (3 added the 'tflite' rounding mode); readers accept 1..FORMAT_VERSION. */
export const FORMAT_VERSION = 3;
/** Version written for packed or sparse weights in double or single rounding (readable by runtimes that predate 'tflite'). */
export const FORMAT_VERSION_PACKED = 2;
/** Version written when every weight is DENSE at 8 bits (readable by runtimes that predate packed weights). */
export const FORMAT_VERSION_DENSE = 1;
