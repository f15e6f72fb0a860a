import type { BuildEvent } from '@tsbuild/builder';
import { createProgressDisplay, type ProgressDisplay, type ProgressMode, type ProgressStream } from '../progress/index.js';
import { shortId } from '../format.js';

/** Renders build events: BuildKit-style plain lines, or a live view of the steps on a terminal. */
export interface BuildRenderer {
  onEvent(event: BuildEvent): void;
  /** Stops the live view (call on success and on failure). */
  stop(): void;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Makes a renderer for `--progress`: `plain` writes one line per event (`#4 [stage-0 4/7] RUN ...`, the RUN's
 * output prefixed with its step and elapsed time, `#4 DONE 0.2s` or `#4 CACHED`); `tty` (the default on a terminal)
 * keeps a live list of steps with their state and prints RUN output above it; `quiet` prints nothing.
 */
export function createBuildRenderer(stream: ProgressStream, mode: ProgressMode | 'quiet'): BuildRenderer {
  if (mode === 'quiet') return { onEvent: () => undefined, stop: () => undefined };
  const display: ProgressDisplay = createProgressDisplay(stream, { mode });
  const starts = new Map<number, number>();
  const labels = new Map<number, string>();
  const partial = new Map<number, string>();
  let lastStep = 0;
  const running = new Set<number>();
  const line = (text: string): void => display.log(text);
  // on a terminal, running steps show their elapsed time as it grows
  const ticker = display.live
    ? setInterval(() => {
        for (const step of running) {
          display.update(String(step), { label: `#${step} ${labels.get(step) ?? ''}`, status: `${seconds(Date.now() - (starts.get(step) ?? Date.now()))}` });
        }
      }, 100)
    : undefined;
  ticker?.unref();

  const flushOutput = (step: number): void => {
    const rest = partial.get(step);
    if (rest) line(`#${step} ${seconds(Date.now() - (starts.get(step) ?? Date.now()))} ${rest}`);
    partial.delete(step);
  };

  return {
    onEvent(event: BuildEvent): void {
      switch (event.type) {
        case 'plan':
          line(`#0 building ${event.steps} steps in ${event.stages.join(', ')}${event.skipped.length > 0 ? ` (skipping unused ${event.skipped.join(', ')})` : ''}`);
          break;
        case 'warning':
          line(`WARNING: ${event.message}`);
          break;
        case 'base':
          if (event.state !== 'ready') line(`#0 ${event.state === 'pull' ? 'pulling' : 'extracting'} ${event.reference}`);
          break;
        case 'step-start': {
          starts.set(event.step, Date.now());
          lastStep = Math.max(lastStep, event.step);
          const label = `[${event.stage} ${event.step}/${event.total}] ${event.text.replace(/\s+/g, ' ')}`;
          labels.set(event.step, label);
          if (display.live) {
            running.add(event.step);
            display.update(String(event.step), { label: `#${event.step} ${label}`, status: '0.0s' });
          } else {
            line(`#${event.step} ${label}`);
          }
          break;
        }
        case 'output': {
          const text = (partial.get(event.step) ?? '') + event.data.toString('utf8');
          const lines = text.split('\n');
          partial.set(event.step, lines.pop() ?? '');
          const elapsed = seconds(Date.now() - (starts.get(event.step) ?? Date.now()));
          for (const output of lines) line(`#${event.step} ${elapsed} ${output}`);
          break;
        }
        case 'step-done': {
          flushOutput(event.step);
          running.delete(event.step);
          const status = event.cached ? 'CACHED' : `DONE ${seconds(event.durationMs)}`;
          if (display.live) display.update(String(event.step), { label: `#${event.step} ${labels.get(event.step) ?? ''}`, status });
          else line(`#${event.step} ${status}`);
          break;
        }
        case 'image': {
          const step = lastStep + 1;
          line(`#${step} writing image ${event.id} done`);
          for (const name of event.names) line(`#${step} naming to ${name} done`);
          line(`#${step} DONE ${seconds(event.durationMs)} (image ${shortId(event.id)})`);
          break;
        }
      }
    },
    stop(): void {
      if (ticker) clearInterval(ticker);
      display.stop();
    },
  };
}
