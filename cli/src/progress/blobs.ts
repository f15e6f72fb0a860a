import type { RegistryBlobProgress } from '@tsbuild/image';
import { shortId } from '../format.js';
import type { ProgressDisplay } from './display.js';

/** Which way blobs move: the words differ (`Pull complete`, `Pushed`). */
export type TransferDirection = 'pull' | 'push';

/** The status docker shows for a blob at this point of a pull or push. */
export function blobStatus(direction: TransferDirection, progress: RegistryBlobProgress): string {
  if (direction === 'pull') {
    switch (progress.state) {
      case 'exists':
        return 'Already exists';
      case 'done':
        return 'Pull complete';
      default:
        return 'Pulling';
    }
  }
  if (progress.state === 'exists' || progress.upload === 'exists') return 'Layer already exists';
  if (progress.state === 'done') {
    if (progress.upload === 'mounted') return progress.mountedFrom !== undefined ? `Mounted from ${progress.mountedFrom}` : 'Mounted';
    return 'Pushed';
  }
  return progress.state === 'start' ? 'Preparing' : 'Pushing';
}

/**
 * Feeds blob progress events of a pull or push into a display: one row per blob, labelled with its short digest
 * (`a1b2c3d4e5f6: Pull complete`). A `header` is printed before the first row, so nothing but the error is printed
 * when the transfer fails before any blob moves.
 */
export function blobProgressReporter(display: ProgressDisplay, direction: TransferDirection, header?: string): (progress: RegistryBlobProgress) => void {
  let started = header === undefined;
  return (progress) => {
    if (!started) {
      started = true;
      display.log(header!);
    }
    const status = blobStatus(direction, progress);
    const moving = progress.state === 'start' || progress.state === 'progress';
    display.update(progress.digest, {
      label: shortId(progress.digest),
      status,
      ...(moving ? { current: progress.bytes } : {}),
      ...(progress.size !== undefined ? { total: progress.size } : {}),
    });
  };
}
