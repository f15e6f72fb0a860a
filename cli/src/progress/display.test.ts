import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { blobProgressReporter, blobStatus } from './blobs.js';
import { createProgressDisplay, formatBytes, isLiveTerminal, type ProgressStream } from './display.js';

/** A stream that records what is written, posing as a terminal of `columns` columns when `tty`. */
function fakeStream(tty: boolean, columns?: number, rows = 24): ProgressStream & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  }) as Writable & { isTTY?: boolean; columns?: number; rows?: number; text(): string };
  stream.isTTY = tty;
  if (columns !== undefined) stream.columns = columns;
  stream.rows = rows;
  stream.text = () => chunks.join('');
  return stream;
}

const digest = `sha256:${'ab'.repeat(32)}` as const;

describe('progress display', () => {
  it('is live only on a terminal with columns and not under CI', () => {
    expect(isLiveTerminal(fakeStream(true, 80), {})).toBe(true);
    expect(isLiveTerminal(fakeStream(true, 0), {})).toBe(false);
    expect(isLiveTerminal(fakeStream(true), {})).toBe(false);
    expect(isLiveTerminal(fakeStream(true, 80), { CI: 'true' })).toBe(false);
    expect(isLiveTerminal(fakeStream(true, 80, 0), {})).toBe(false); // a pty with no height: redraws print nothing
    expect(isLiveTerminal(fakeStream(false, 80), {})).toBe(false);
    expect(createProgressDisplay(fakeStream(true, 0), { env: {} }).live).toBe(false);
  });

  it('prints one plain line per status change, no byte counts, no escape sequences', () => {
    const stream = fakeStream(false);
    const display = createProgressDisplay(stream, { env: {} });
    const report = blobProgressReporter(display, 'pull', '1: Pulling from app');
    report({ digest, mediaType: 'x', size: 100, state: 'start', bytes: 0 });
    report({ digest, mediaType: 'x', size: 100, state: 'progress', bytes: 50 });
    report({ digest, mediaType: 'x', size: 100, state: 'done', bytes: 100 });
    report({ digest: `sha256:${'cd'.repeat(32)}`, mediaType: 'x', size: 7, state: 'exists', bytes: 0 });
    display.stop();
    display.update('late', { status: 'ignored' });
    expect(stream.text()).toBe('1: Pulling from app\nabababababab: Pulling\nabababababab: Pull complete\ncdcdcdcdcdcd: Already exists\n');
  });

  it('redraws rows in place on a terminal and leaves the last frame', () => {
    const stream = fakeStream(true, 100);
    const display = createProgressDisplay(stream, { env: {}, redrawMs: 1 });
    expect(display.live).toBe(true);
    display.log('The push refers to repository [app]');
    display.update('a', { label: 'aaaaaaaaaaaa', status: 'Pushing', current: 5_000_000, total: 10_000_000 });
    display.update('b', { label: 'bbbbbbbbbbbb', status: 'Layer already exists' });
    display.update('a', { label: 'aaaaaaaaaaaa', status: 'Pushed' });
    display.stop();
    const text = stream.text();
    expect(text).toContain('The push refers to repository [app]\n');
    expect(text).toContain('aaaaaaaaaaaa: Pushing [====================>                   ] 5MB/10MB');
    expect(text).toContain('\u001B['); // cursor movement: drawn in place
    expect(text).toMatch(/aaaaaaaaaaaa: Pushed\n(?:.*\n)*?bbbbbbbbbbbb: Layer already exists/);
  });

  it('formats byte bars to the width', () => {
    expect(formatBytes(undefined, 10, 80)).toBe('');
    expect(formatBytes(1500, undefined, 80)).toBe('1.5kB');
    expect(formatBytes(10, 10, 80)).toBe(`[${'='.repeat(40)}] 10B/10B`);
    expect(formatBytes(1, 10, 12)).toBe('1B/10B');
  });

  it('words blob states the way docker does', () => {
    const base = { digest, mediaType: 'x', size: 1, bytes: 0 } as const;
    expect(blobStatus('push', { ...base, state: 'start' })).toBe('Preparing');
    expect(blobStatus('push', { ...base, state: 'progress' })).toBe('Pushing');
    expect(blobStatus('push', { ...base, state: 'exists' })).toBe('Layer already exists');
    expect(blobStatus('push', { ...base, state: 'done', upload: 'mounted', mountedFrom: 'library/busybox' })).toBe('Mounted from library/busybox');
    expect(blobStatus('push', { ...base, state: 'done', upload: 'uploaded' })).toBe('Pushed');
    expect(blobStatus('pull', { ...base, state: 'done' })).toBe('Pull complete');
  });
});
