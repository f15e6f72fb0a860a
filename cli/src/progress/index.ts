/**
 * Progress rendering for commands that move or make several things at once: a live display on a usable terminal,
 * plain lines otherwise. See {@link createProgressDisplay}.
 * @module
 */
export { createProgressDisplay, isLiveTerminal, formatBytes, type ProgressDisplay, type ProgressMode, type ProgressOptions, type ProgressStream, type RowUpdate } from './display.js';
export { blobProgressReporter, blobStatus, type TransferDirection } from './blobs.js';
