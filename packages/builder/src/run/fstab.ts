/** One mount for `mount --all --fstab FILE`: the sandbox does all its mounts of a phase with one `mount` process. */
export interface FstabEntry {
  /** Device, host path (for binds) or a name (`proc`, `tmpfs`, `overlay`). */
  readonly source: string;
  /** Absolute target path. */
  readonly target: string;
  /** File system type; `none` for bind mounts. */
  readonly type: string;
  /** Comma-separated mount options, e.g. `bind,ro`. */
  readonly options: string;
}

/** Renders entries as fstab text, one line each, with every unusual byte escaped. */
export function formatFstab(entries: readonly FstabEntry[]): string {
  return entries
    .map((entry) =>
      [entry.source, entry.target, entry.type, entry.options].map(escapeFstabField).join(' ').concat(' 0 0\n'),
    )
    .join('');
}

/**
 * Escapes one fstab field: libmount decodes `\ooo` octal escapes, so any byte outside a plain set (spaces, tabs,
 * newlines, `#`, backslashes, non-ASCII) is written that way and a path from an image can never split a line.
 */
export function escapeFstabField(field: string): string {
  let escaped = '';
  for (const byte of Buffer.from(field, 'utf8')) {
    const char = String.fromCharCode(byte);
    escaped += /[A-Za-z0-9_.,:=+@%\/-]/.test(char) ? char : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return escaped;
}
