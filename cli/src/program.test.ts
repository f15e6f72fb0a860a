import { describe, expect, it } from 'vitest';
import { commandsFor } from './program.js';

const names = (argv: string[]): string[] => commandsFor(argv).map((entry) => entry.names[0]!);

describe('commandsFor', () => {
  it('sets up only the command a line names, after any global options', () => {
    expect(names(['images'])).toEqual(['images']);
    expect(names(['ls', '--format', 'json'])).toEqual(['images']);
    expect(names(['--root', '/store', '--debug', 'build', '-t', 'app:1', '.'])).toEqual(['build']);
    expect(names(['--root=/store', 'pull', 'localhost:5000/app:1'])).toEqual(['pull']);
    // --root's value is not taken for a command name
    expect(names(['--root', 'images', 'history', 'app:1'])).toEqual(['history']);
  });

  it("sets up build alone for the default command's options, and every command otherwise", () => {
    expect(names(['-t', 'app:1', '.'])).toEqual(['build']);
    const all = names(['--help']);
    expect(all.length).toBeGreaterThan(15);
    expect(all[0]).toBe('build');
    for (const argv of [['help'], ['-v'], ['--root', '/store', '--version'], ['.'], ['biuld'], ['--root', '/store']]) {
      expect(names(argv)).toEqual(all);
    }
  });
});
