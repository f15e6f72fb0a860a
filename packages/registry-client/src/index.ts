/**
 * @tsbuild/registry-client
 * @packageDocumentation
 */
export {};
