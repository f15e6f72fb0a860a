/**
 * The packages behind the commands, loaded when a command runs rather than at start-up: `tsbuild --help` or a
 * `pull` then loads only what it uses (the whole set costs ~0.3 s of module loading).
 */
export const imageModule = (): Promise<typeof import('@tsbuild/image')> => import('@tsbuild/image');
export const builderModule = (): Promise<typeof import('@tsbuild/builder')> => import('@tsbuild/builder');
export const layersModule = (): Promise<typeof import('@tsbuild/layers')> => import('@tsbuild/layers');
export const ociModule = (): Promise<typeof import('@tsbuild/oci')> => import('@tsbuild/oci');
export const registryModule = (): Promise<typeof import('@tsbuild/registry-client')> => import('@tsbuild/registry-client');
