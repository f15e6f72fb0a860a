/** Go `time.ParseDuration` syntax, used by HEALTHCHECK's `--interval`, `--timeout`, `--start-period`, `--start-interval`. */

const UNIT_NANOSECONDS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** A duration that does not follow Go's syntax. */
export class DurationSyntaxError extends Error {}

/**
 * Parses a Go duration (`300ms`, `1.5h`, `2h45m`, `-1s`, `0`) into nanoseconds.
 * @throws DurationSyntaxError for anything else, e.g. `5` (no unit) or `1d` (unknown unit).
 */
export function parseGoDuration(text: string): number {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new DurationSyntaxError(`invalid duration "${text}"`);
  let total = 0;
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    const whole = number[1] ?? '';
    const fraction = number[2] ?? '';
    if (whole === '' && fraction === '') throw new DurationSyntaxError(`invalid duration "${text}"`);
    rest = rest.slice(number[0].length);
    const unit = /^[^\d.]*/.exec(rest)![0];
    if (unit === '') throw new DurationSyntaxError(`missing unit in duration "${text}" (use ns, us, ms, s, m or h)`);
    const scale = UNIT_NANOSECONDS[unit];
    if (scale === undefined) throw new DurationSyntaxError(`unknown unit "${unit}" in duration "${text}" (use ns, us, ms, s, m or h)`);
    rest = rest.slice(unit.length);
    total += Number(whole === '' ? '0' : whole) * scale + (fraction === '' ? 0 : Number(`0.${fraction}`) * scale);
  }
  return sign * Math.round(total);
}
