export * from './entry.js';
export { readTar, readEntryBody, DEFAULT_TAR_LIMITS, type TarEntry, type TarReaderLimits } from './reader.js';
export { TarWriter, type TarChunkSink, type TarWriterOptions } from './writer.js';
