// Native dot products an engine may offer for the FULLY_CONNECTED and CONV_2D inner loops (device/README.md).
// The kernels pick one per model at load; every path yields the same exact integer sums.

const DOT_NONE = 0;
const DOT_CONVOLVE = 1;
const DOT_S8 = 2;
