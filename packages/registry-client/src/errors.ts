import { TsbuildError } from '@tsbuild/oci';

/** Machine-readable kinds of {@link RegistryError}. */
export type RegistryErrorCode =
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'MANIFEST_UNKNOWN'
  | 'BLOB_UNKNOWN'
  | 'NAME_UNKNOWN'
  | 'UNREACHABLE'
  | 'TLS'
  | 'TOO_LARGE'
  | 'PLATFORM_NOT_FOUND'
  | 'PROTOCOL'
  | 'UNAVAILABLE'
  | 'CREDENTIALS';

/** Where a {@link RegistryError} happened. */
export interface RegistryErrorContext {
  /** The registry host as the user named it, e.g. `localhost:5000`. */
  registry: string;
  /** The repository inside the registry, if the failing call was about one. */
  repository?: string;
  /** The HTTP status of the failing response, if there was one. */
  status?: number;
  /** The underlying error (never carries credentials). */
  cause?: unknown;
}

/**
 * A registry call that failed, with the registry, repository and HTTP status it failed with, and a message that says
 * what to do. Messages never contain credentials or tokens.
 */
export class RegistryError extends TsbuildError {
  /** The registry host, e.g. `localhost:5000`. */
  readonly registry: string;
  /** The repository, if the call was about one. */
  readonly repository: string | undefined;
  /** The HTTP status, if a response was received. */
  readonly status: number | undefined;

  constructor(code: RegistryErrorCode, message: string, context: RegistryErrorContext) {
    super(code, message, context.cause === undefined ? undefined : { cause: context.cause });
    this.registry = context.registry;
    this.repository = context.repository;
    this.status = context.status;
  }
}

/** An auth file or credential helper that could not be read, parsed or run. */
export class CredentialsError extends TsbuildError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CREDENTIALS', message, options);
  }
}

/** One entry of a distribution-spec error body: `{"errors":[{"code","message","detail"}]}`. */
export interface RegistryErrorDetail {
  code: string;
  message: string;
}

/** Parses a distribution-spec error body; returns an empty list for anything else. */
export function parseErrorBody(text: string): RegistryErrorDetail[] {
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json !== 'object' || json === null) return [];
    const errors = (json as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) return [];
    return errors.flatMap((entry: unknown): RegistryErrorDetail[] => {
      if (typeof entry !== 'object' || entry === null) return [];
      const { code, message } = entry as { code?: unknown; message?: unknown };
      return [{ code: typeof code === 'string' ? code : 'UNKNOWN', message: typeof message === 'string' ? message : '' }];
    });
  } catch {
    return [];
  }
}
