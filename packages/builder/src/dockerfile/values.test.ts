/** Small value formats of the front end: Go durations, Go string quoting, flag kinds. */
import { describe, expect, it } from 'vitest';
import { goQuote } from './dump.js';
import { DurationSyntaxError, parseGoDuration } from './duration.js';
import { FlagError, parseFlags } from './flags.js';

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['300ms', 300e6],
    ['1.5h', 5400e9],
    ['2h45m', 9900e9],
    ['1m30.5s', 90.5e9],
    ['-1s', -1e9],
    ['+2us', 2000],
    ['7µs', 7000],
    ['7μs', 7000],
    ['.5s', 0.5e9],
    ['10ns', 10],
  ])('%s', (text, nanoseconds) => {
    expect(parseGoDuration(text)).toBe(nanoseconds);
  });

  it.each(['', '5', '1d', 's', '1..5s', '-', '1s2'])('rejects %j', (text) => {
    expect(() => parseGoDuration(text)).toThrow(DurationSyntaxError);
  });
});

describe('goQuote (Go strconv.Quote)', () => {
  it.each([
    ['plain', '"plain"'],
    ['say "hi" \\o/', '"say \\"hi\\" \\\\o/"'],
    ['\t\n\r\b\f\v\x07', '"\\t\\n\\r\\b\\f\\v\\a"'],
    ['\x00\x1b\x7f', '"\\x00\\x1b\\x7f"'],
    ['\u0085\u00a0\u200b', '"\\u0085\\u00a0\\u200b"'],
    ['♥ ☃ 한국어 é', '"♥ ☃ 한국어 é"'],
    ['\u{1F600}', '"\u{1F600}"'],
    ['\u{E0001}', '"\\U000e0001"'],
  ])('%j', (text, quoted) => {
    expect(goQuote(text)).toBe(quoted);
  });
});

describe('parseFlags', () => {
  it('reads string, bool and repeatable flags', () => {
    const flags = parseFlags('COPY', ['--from=build', '--link', '--exclude=a', '--exclude=b', '--parents=FALSE']);
    expect([flags.string('from'), flags.bool('link'), flags.strings('exclude'), flags.bool('parents'), flags.string('chown')]).toEqual([
      'build',
      true,
      ['a', 'b'],
      false,
      undefined,
    ]);
  });

  it('keeps = inside values and accepts an empty string value', () => {
    expect(parseFlags('RUN', ['--mount=type=bind,target=/x']).strings('mount')).toEqual(['type=bind,target=/x']);
    expect(parseFlags('FROM', ['--platform=']).string('platform')).toBe('');
  });

  it('rejects a bool flag with an empty value', () => {
    expect(() => parseFlags('COPY', ['--link='])).toThrow(FlagError);
    expect(() => parseFlags('COPY', ['--link='])).toThrow(/missing a value on flag --link/);
  });
});
