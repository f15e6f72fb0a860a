/**
 * @tsbuild/image
 * @packageDocumentation
 */
export {};
