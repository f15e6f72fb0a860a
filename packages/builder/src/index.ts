/**
 * @tsbuild/builder
 * @packageDocumentation
 */
export {};
