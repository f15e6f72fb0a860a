/** What a build reports as it goes; the CLI renders these, a library user may log or ignore them. */
export type BuildEvent =
  /** The build is planned: which stages run and how many steps there are. */
  | { readonly type: 'plan'; readonly stages: readonly string[]; readonly skipped: readonly string[]; readonly steps: number }
  /** A step starts (`cached` steps start and finish at once). */
  | { readonly type: 'step-start'; readonly step: number; readonly total: number; readonly stage: string; readonly text: string }
  /** A step finished; `cached` when its result came from the step cache. */
  | { readonly type: 'step-done'; readonly step: number; readonly cached: boolean; readonly durationMs: number; readonly layerSize?: number }
  /** Output of a RUN step, as it comes. */
  | { readonly type: 'output'; readonly step: number; readonly stream: 'stdout' | 'stderr'; readonly data: Buffer }
  /** Something the user should know (unused build args, an unsupported field dropped, ...). */
  | { readonly type: 'warning'; readonly message: string }
  /** A base image is being pulled or extracted. */
  | { readonly type: 'base'; readonly reference: string; readonly state: 'pull' | 'extract' | 'ready' }
  /** The image is committed. */
  | { readonly type: 'image'; readonly id: string; readonly manifestDigest: string; readonly names: readonly string[]; readonly durationMs: number };

/** Receives build events. */
export type BuildEventHandler = (event: BuildEvent) => void;
