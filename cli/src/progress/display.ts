import type { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import type { createLogUpdate } from 'log-update';
import { humanSize } from '../format.js';

/** A stream as the progress display looks at it. */
export type ProgressStream = Writable & { isTTY?: boolean; columns?: number; rows?: number };

/** A change to one row: its status text and, while bytes move, how many of how many. */
export interface RowUpdate {
  /** What is shown before the colon (default the row's id). */
  readonly label?: string;
  /** `Pulling`, `Pull complete`, `Already exists`, ... */
  readonly status: string;
  /** Bytes done so far (shown as a bar on a terminal only). */
  readonly current?: number;
  /** Total bytes, if known. */
  readonly total?: number;
}

/**
 * Progress of several concurrent items (blobs, build steps), one row each. On a terminal the rows are redrawn in
 * place; otherwise each status change is one plain line (`a1b2c3d4e5f6: Pull complete`) and byte counts are not
 * printed.
 */
export interface ProgressDisplay {
  /** Whether rows are redrawn in place (a live terminal display). */
  readonly live: boolean;
  /** Adds a row or changes it. */
  update(id: string, update: RowUpdate): void;
  /** Prints a line that stays (above the rows on a terminal). */
  log(line: string): void;
  /** Ends the display, leaving its last state on screen. Further calls do nothing. */
  stop(): void;
}

/** How to choose the renderer: `auto` is live on a usable terminal, plain otherwise. */
export type ProgressMode = 'auto' | 'tty' | 'plain';

/**
 * Whether a stream can take a live display: a TTY with a known, non-zero width, and not under CI. A 0-column pty
 * (some CI runners make one) makes redrawing libraries loop forever, so it gets plain lines.
 */
export function isLiveTerminal(stream: ProgressStream, env: NodeJS.ProcessEnv = process.env): boolean {
  // a pty with no size (0 columns or 0 rows, as some CI runners make) gets plain lines: redrawing needs both
  return stream.isTTY === true && (stream.columns ?? 0) > 0 && (stream.rows ?? 0) > 0 && !env.CI && env.TERM !== 'dumb';
}

/** Options of {@link createProgressDisplay}. */
export interface ProgressOptions {
  /** Default `auto`. */
  mode?: ProgressMode;
  /** Environment to read `CI` and `TERM` from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Minimum time between redraws of a live display in ms (default 100). */
  redrawMs?: number;
}

/** Makes the display for a stream (usually standard error). */
export function createProgressDisplay(stream: ProgressStream, options: ProgressOptions = {}): ProgressDisplay {
  const mode = options.mode ?? 'auto';
  const live = mode === 'tty' || (mode === 'auto' && isLiveTerminal(stream, options.env));
  return live ? new LiveDisplay(stream, options.redrawMs ?? 100) : new PlainDisplay(stream);
}

interface Row {
  label: string;
  status: string;
  current: number | undefined;
  total: number | undefined;
}

/** Plain lines: one per status change. */
class PlainDisplay implements ProgressDisplay {
  readonly live = false;
  private readonly rows = new Map<string, Row>();
  private stopped = false;

  constructor(private readonly stream: Writable) {}

  update(id: string, update: RowUpdate): void {
    if (this.stopped) return;
    const row = this.rows.get(id);
    const label = update.label ?? row?.label ?? id;
    if (row !== undefined && row.status === update.status && row.label === label) return;
    this.rows.set(id, { label, status: update.status, current: undefined, total: undefined });
    this.stream.write(`${label}: ${update.status}\n`);
  }

  log(line: string): void {
    if (!this.stopped) this.stream.write(`${line}\n`);
  }

  stop(): void {
    this.stopped = true;
  }
}

const BAR_WIDTH = 40;

/** `[=====>      ]  12.3MB/40MB`, or just the size when the total is unknown. */
export function formatBytes(current: number | undefined, total: number | undefined, width: number): string {
  if (current === undefined) return '';
  if (total === undefined || total <= 0) return humanSize(current);
  const numbers = `${humanSize(current)}/${humanSize(total)}`;
  const barWidth = Math.min(BAR_WIDTH, width - numbers.length - 4);
  if (barWidth < 10) return numbers;
  const filled = Math.min(barWidth, Math.floor((current / total) * barWidth));
  const bar = filled >= barWidth ? '='.repeat(barWidth) : `${'='.repeat(filled)}>${' '.repeat(barWidth - filled - 1)}`;
  return `[${bar}] ${numbers}`;
}

/** Rows redrawn in place with log-update, at most every `redrawMs`. */
class LiveDisplay implements ProgressDisplay {
  readonly live = true;
  private readonly rows = new Map<string, Row>();
  private readonly render: ReturnType<typeof createLogUpdate>;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly redrawMs: number,
  ) {
    // loaded only for a live display: it costs ~60 ms of start-up that plain output does not need
    const { createLogUpdate: make } = createRequire(import.meta.url)('log-update') as { createLogUpdate: typeof createLogUpdate };
    this.render = make(stream, { showCursor: true });
  }

  private frame(): string {
    const width = Math.max(20, (this.stream.columns ?? 80) - 1);
    const lines: string[] = [];
    for (const row of this.rows.values()) {
      const head = `${row.label}: ${row.status}`;
      const bytes = formatBytes(row.current, row.total, width - head.length - 1);
      const line = bytes ? `${head} ${bytes}` : head;
      lines.push(line.length > width ? line.slice(0, width) : line);
    }
    return lines.join('\n');
  }

  private draw(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.rows.size > 0) this.render(this.frame());
  }

  private schedule(): void {
    if (this.timer === undefined && !this.stopped) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.draw();
      }, this.redrawMs);
      this.timer.unref();
    }
  }

  update(id: string, update: RowUpdate): void {
    if (this.stopped) return;
    const row = this.rows.get(id);
    const next: Row = { label: update.label ?? row?.label ?? id, status: update.status, current: update.current, total: update.total ?? row?.total };
    this.rows.set(id, next);
    // a new row or a new status is drawn at once; byte counts at the redraw rate
    if (row === undefined || row.status !== next.status) this.draw();
    else this.schedule();
  }

  log(line: string): void {
    if (this.stopped) {
      this.stream.write(`${line}\n`);
      return;
    }
    this.render.clear();
    this.stream.write(`${line}\n`);
    this.draw();
  }

  stop(): void {
    if (this.stopped) return;
    this.draw();
    this.stopped = true;
    this.render.done();
  }
}
