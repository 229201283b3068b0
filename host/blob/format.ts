// The blob format versions are enum FormatVersion in schema/morsel.fbs (generated into ../ir/contract.ts); these
// names say which one the encoder writes when.
import { FormatVersion } from '../ir/contract';

/** Newest blob format version (3 added the 'tflite' rounding mode); readers accept 1..FORMAT_VERSION. */
export { FORMAT_VERSION } from '../ir/contract';
/** Version written for packed or sparse weights in double or single rounding (readable by runtimes that predate 'tflite'). */
export const FORMAT_VERSION_PACKED = FormatVersion.PACKED;
/** Version written when every weight is DENSE at 8 bits (readable by runtimes that predate packed weights). */
export const FORMAT_VERSION_DENSE = FormatVersion.DENSE;
