/** Blob format version written into and required from every .msl file; bump on incompatible schema changes. */
export const FORMAT_VERSION = 1;
