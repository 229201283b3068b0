/** Newest blob format version; readers accept 1..FORMAT_VERSION. */
export const FORMAT_VERSION = 2;
/** Version written when every weight is DENSE at 8 bits (readable by runtimes that predate packed weights). */
export const FORMAT_VERSION_DENSE = 1;
