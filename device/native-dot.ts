// Native dot products an engine may offer for the FULLY_CONNECTED and CONV_2D inner loops (device/README.md).
// The kernels pick one per model at load; every path yields the same exact integer sums.

export const DOT_NONE = 0;
export const DOT_CONVOLVE = 1;
export const DOT_S8 = 2;
