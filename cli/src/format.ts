/** Sizes as docker prints them: decimal units, three significant digits (`1.09MB`, `512B`). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const text = unit === 0 ? String(Math.round(value)) : Number(value.toPrecision(3)).toString();
  return `${text}${units[unit]}`;
}

/** A past time as docker prints it: `2 hours ago`, `About a minute ago`, `3 weeks ago`. */
export function timeAgo(iso: string | undefined, now = Date.now()): string {
  if (!iso) return 'N/A';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return 'N/A';
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  const pick = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'} ago`;
  if (seconds < 1) return 'Less than a second ago';
  if (seconds < 60) return pick(seconds, 'second');
  const minutes = Math.round(seconds / 60);
  if (minutes === 1) return 'About a minute ago';
  if (minutes < 60) return pick(minutes, 'minute');
  const hours = Math.round(minutes / 60);
  if (hours === 1) return 'About an hour ago';
  if (hours < 48) return pick(hours, 'hour');
  const days = Math.round(hours / 24);
  if (days < 14) return pick(days, 'day');
  if (days < 60) return pick(Math.round(days / 7), 'week');
  if (days < 730) return pick(Math.round(days / 30), 'month');
  return pick(Math.round(days / 365), 'year');
}

/** The 12-hex-digit short form of a digest, as docker shows image IDs. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Formats rows as left-aligned columns separated by three spaces, like docker's tables. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Truncates text to `max` characters with an ellipsis, as docker does for `CREATED BY`. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
