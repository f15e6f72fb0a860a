import { describe, expect, it } from 'vitest';
import { InvalidManifestError, UnsupportedMediaTypeError } from './errors.js';
import { parseImageConfig, parseManifest } from './manifest.js';
import { MediaType } from './media-types.js';

const D = `sha256:${'b'.repeat(64)}`;
const manifest = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: D, size: 10 },
  layers: [{ mediaType: MediaType.ociLayerGzip, digest: D, size: 20, futureField: 1 }],
  futureTopLevel: { x: 1 },
};
const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('parseManifest', () => {
  it('parses an OCI manifest and keeps unknown fields', () => {
    const parsed = parseManifest(bytes(manifest));
    expect(parsed.kind).toBe('manifest');
    if (parsed.kind !== 'manifest') return;
    expect(parsed.manifest.layers[0]).toMatchObject({ futureField: 1 });
    expect(parsed.manifest).toMatchObject({ futureTopLevel: { x: 1 } });
  });

  it('identifies documents without a mediaType by hint or by shape', () => {
    const { mediaType: _m, ...bare } = manifest;
    expect(parseManifest(bytes(bare)).mediaType).toBe(MediaType.ociManifest);
    expect(parseManifest(bytes(bare), MediaType.dockerManifest).mediaType).toBe(MediaType.dockerManifest);
    expect(parseManifest(bytes({ schemaVersion: 2, manifests: [] })).kind).toBe('index');
  });

  it('parses a Docker manifest list', () => {
    const list = { schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests: [{ mediaType: MediaType.dockerManifest, digest: D, size: 1, platform: { os: 'linux', architecture: 'amd64' } }] };
    const parsed = parseManifest(bytes(list));
    expect(parsed.kind).toBe('index');
  });

  it('rejects bad documents with a reason', () => {
    expect(() => parseManifest(Buffer.from('{'))).toThrow(InvalidManifestError);
    expect(() => parseManifest(bytes({ ...manifest, layers: [{ digest: D }] }))).toThrow(/at layers\.0\.mediaType/);
    expect(() => parseManifest(bytes({ ...manifest, mediaType: 'application/x-foo' }))).toThrow(UnsupportedMediaTypeError);
    expect(() => parseManifest(bytes({ schemaVersion: 1, name: 'x' }))).toThrow(/schema 1/);
    expect(() => parseManifest(Buffer.alloc(5 * 1024 * 1024, 32))).toThrow(/limit/);
  });
});

describe('parseImageConfig', () => {
  it('parses a config and keeps unknown fields', () => {
    const config = parseImageConfig(bytes({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [D] }, config: { Cmd: ['sh'], ArgsEscaped: true, Custom: 1 } }));
    expect(config.config).toMatchObject({ Cmd: ['sh'], Custom: 1 });
  });

  it('rejects a config without rootfs', () => {
    expect(() => parseImageConfig(bytes({ architecture: 'amd64', os: 'linux' }))).toThrow(/at rootfs/);
  });
});
