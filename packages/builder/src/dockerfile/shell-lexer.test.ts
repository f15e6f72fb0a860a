import { describe, expect, it } from 'vitest';
import { WordExpansionError } from './errors.js';
import { processWord, processWordWithMatches, processWords } from './shell-lexer.js';

const env = { V: '/usr/local/bin/app.tar.gz', K: '안녕하세요.txt', E: '', S: 'a b  c' };

describe('processWord pattern operators', () => {
  it.each([
    ['${V#*/}', 'usr/local/bin/app.tar.gz'],
    ['${V##*/}', 'app.tar.gz'],
    ['${V#*.}', 'tar.gz'],
    ['${V##*.}', 'gz'],
    ['${V%.*}', '/usr/local/bin/app.tar'],
    ['${V%%.*}', '/usr/local/bin/app'],
    ['${V%/*}', '/usr/local/bin'],
    ['${V#?}', 'usr/local/bin/app.tar.gz'],
    ['${V#nomatch}', '/usr/local/bin/app.tar.gz'],
    ['${V%.tar.gz}', '/usr/local/bin/app'],
    ['${K%.txt}', '안녕하세요'],
    ['${K#?}', '녕하세요.txt'],
    ['${U#x}', ''],
    ['${V/local/opt}', '/usr/opt/bin/app.tar.gz'],
    ['${V//\\//:}', ':usr:local:bin:app.tar.gz'],
    ['${V/\\//}', 'usr/local/bin/app.tar.gz'],
    ['${V//[/x}', '/usr/local/bin/app.tar.gz'],
    ['${V//./_}', '/usr/local/bin/app_tar_gz'],
    ['${S// /-}', 'a-b--c'],
    ['${U/a/b}', ''],
  ])('%s', (word, expected) => {
    expect(processWord(word, env)).toBe(expected);
  });

  it('matches * greedily in ${V/…/…} and ${V##…}, shortest in ${V#…}', () => {
    const p = { P: 'a1a2a3' };
    expect(processWord('${P/a*a/X}', p)).toBe('X3');
    expect(processWord('${P//a?/-}', p)).toBe('---');
    expect(processWord('${P#a*a}', p)).toBe('2a3');
    expect(processWord('${P##a*a}', p)).toBe('3');
    expect(processWord('${P%a*}', p)).toBe('a1a2');
    expect(processWord('${P%%a*}', p)).toBe('');
  });

  it('supports escaped wildcards in patterns', () => {
    expect(processWord('${P%\\*}', { P: 'a*' })).toBe('a');
    expect(processWord('${P#\\?}', { P: '?b' })).toBe('b');
    expect(processWord('${P%\\*}', { P: 'ab' })).toBe('ab');
  });

  it('rejects :# and :%, and bad escapes in patterns', () => {
    expect(() => processWord('${V:#x}', env)).toThrow(/unsupported modifier \(:#\)/);
    expect(() => processWord('${V:%x}', env)).toThrow(/unsupported modifier \(:%\)/);
    expect(() => processWord('${V#\\q}', env)).toThrow(/invalid escape/);
    expect(() => processWord('${V/a', env)).toThrow(/missing '\/' in \$\{\}/);
    expect(() => processWord('${V/a/b', env)).toThrow(/missing '}'/);
  });
});

describe('processWord default, alternative and required forms', () => {
  it.each([
    ['${E-default}', ''],
    ['${E:-default}', 'default'],
    ['${U-default}', 'default'],
    ['${E+alt}', 'alt'],
    ['${E:+alt}', ''],
    ['${U+alt}', ''],
    ['${E?}', ''],
    ['${V:?}', '/usr/local/bin/app.tar.gz'],
    ['${U:-$V}', '/usr/local/bin/app.tar.gz'],
    ['${U:-"quoted  default"}', 'quoted  default'],
  ])('%s', (word, expected) => {
    expect(processWord(word, env)).toBe(expected);
  });

  it('fails ${V?} on unset and ${V:?} on empty, with the default messages', () => {
    expect(() => processWord('${U?}', env)).toThrow(/U: is not allowed to be unset/);
    expect(() => processWord('${E:?}', env)).toThrow(/E: is not allowed to be empty/);
  });
});

describe('processWord options and inputs', () => {
  it('uses the backtick escape when asked', () => {
    expect(processWord('a`$b C:\\dir', { b: 'x' }, { escapeToken: '`' })).toBe('a$b C:\\dir');
    expect(processWord('"a`"b"', {}, { escapeToken: '`' })).toBe('a"b');
  });

  it('reports the variables it used and the unset ones', () => {
    const result = processWordWithMatches('$A-${B:-x}-${E}-$A', { A: '1', E: '' });
    expect(result.value).toBe('1-x--1');
    expect([...result.matched].sort()).toEqual(['A', 'E']);
    expect([...result.unmatched]).toEqual(['B']);
  });

  it('leaves unset variables as written with skipUnsetEnv', () => {
    expect(processWord('$A ${B} ${C:-d} ${D/x/y} $', { A: '1' }, { skipUnsetEnv: true })).toBe('1 ${B} ${C:-d} ${D/x/y} $');
  });

  it('keeps quotes with rawQuotes, escapes with rawEscapes', () => {
    expect(processWord(`'a' "b"`, {}, { rawQuotes: true })).toBe(`'a' "b"`);
    expect(processWord('a\\ b', {}, { rawEscapes: true })).toBe('a\\ b');
  });

  it('leaves quotes alone with skipProcessQuotes (COPY heredoc bodies)', () => {
    expect(processWord(`echo "$A" '$A' \\$A`, { A: '1' }, { skipProcessQuotes: true })).toBe(`echo "1" '1' $A`);
  });

  it('accepts a Map or a lookup function, and ignores inherited properties of plain objects', () => {
    expect(processWord('$A', new Map([['A', 'm']]))).toBe('m');
    expect(processWord('$A$B', (name) => (name === 'A' ? 'f' : undefined))).toBe('f');
    expect(processWord('[$constructor][$toString][${__proto__:-p}]', {})).toBe('[][][p]');
  });

  it('fails with a WordExpansionError naming the word and the reason', () => {
    const error = (() => {
      try {
        processWord('${X:?must be set}', {});
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(WordExpansionError);
    expect(error).toMatchObject({ word: '${X:?must be set}', reason: 'X: must be set', code: 'WORD_EXPANSION' });
  });
});

describe('processWords field splitting', () => {
  it('splits unquoted white space from variables, not quoted or escaped white space', () => {
    expect(processWords('$S "$S" x\\ y', env)).toEqual(['a', 'b', 'c', 'a b  c', 'x y']);
  });

  it('drops empty fields, even quoted empty strings (as BuildKit does)', () => {
    expect(processWords('a "" $E b', env)).toEqual(['a', 'b']);
  });

  it('keeps a word together when a variable is glued to quoted text', () => {
    expect(processWords('pre"$S"post', env)).toEqual(['prea b  cpost']);
  });
});
