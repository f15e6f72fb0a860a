/**
 * @tsbuild/layers
 * @packageDocumentation
 */
export {};
