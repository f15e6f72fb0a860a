import { TsbuildError } from '@tsbuild/oci';

/**
 * A layer that cannot be read, written or applied: a corrupt or hostile archive, an entry that would escape the
 * target root, a file that changed while it was being archived. The message names the entry (its path inside the
 * layer) whenever there is one, so a user can find it; {@link LayerError.entry} holds it on its own.
 */
export class LayerError extends TsbuildError {
  /** The path of the entry inside the layer the error is about, if any. */
  readonly entry: string | undefined;

  constructor(message: string, options?: { entry?: string; cause?: unknown }) {
    super('LAYER', options?.entry !== undefined ? `${options.entry}: ${message}` : message, options);
    this.entry = options?.entry;
  }
}

/** Something worth telling the user that did not stop the operation (e.g. a socket left out of a layer). */
export interface LayerWarning {
  /** A stable code: `SOCKET_SKIPPED`, `XATTR_SKIPPED`, `DEVICE_SKIPPED`, `OWNER_SKIPPED`. */
  readonly code: 'SOCKET_SKIPPED' | 'XATTR_SKIPPED' | 'DEVICE_SKIPPED' | 'OWNER_SKIPPED';
  /** The path inside the layer (or tree) the warning is about. */
  readonly path: string;
  /** A sentence for a user. */
  readonly message: string;
}

/** Receives {@link LayerWarning}s. */
export type WarningHandler = (warning: LayerWarning) => void;

/** Wraps an unexpected error (fs, zlib) into a {@link LayerError} naming the entry; passes TsbuildErrors through. */
export function asLayerError(error: unknown, entry?: string): Error {
  if (error instanceof TsbuildError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const message = error instanceof Error ? error.message : String(error);
  return new LayerError(message, { ...(entry !== undefined ? { entry } : {}), cause: error });
}
