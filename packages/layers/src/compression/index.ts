export { detectCompression, sniffFormat, type SniffedFormat } from './detect.js';
export { ParallelGzip, DEFAULT_GZIP_LEVEL, type GzipOptions } from './gzip.js';
export { DEFAULT_ZSTD_LEVEL, loadZstdAddon, type ZstdImplementation } from './zstd.js';
export { compressStream, decompressStream, openUncompressed, type CompressOptions, type DecompressOptions } from './streams.js';
