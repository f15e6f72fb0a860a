import type { Readable } from 'node:stream';
import { digestHex, parseDigest, parseReference, type Descriptor, type Digest } from '@tsbuild/oci';
import type { ArchiveTarWriter } from '../archive/tar-writer.js';
import { familiarRepositoryName } from '@tsbuild/oci';
import type { BlobOpener, DestinationImage, ImageDestination, UncompressedLayer } from './types.js';

/**
 * Writes a `docker save` archive (`docker-archive:`): each layer uncompressed as `<diffID hex>.tar`, each config
 * as `<config hex>.json`, both once however many images share them, and at commit `manifest.json` and
 * `repositories`. `docker load`, `podman load` and skopeo read it.
 */
export class DockerArchiveDestination implements ImageDestination {
  readonly description: string;
  readonly layerFormat = 'uncompressed' as const;
  readonly verifiesBlobs = false;
  private readonly writer: ArchiveTarWriter;
  private readonly written = new Set<Digest>();
  private readonly entries: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  private readonly repositories: Record<string, Record<string, string>> = {};

  constructor(writer: ArchiveTarWriter, label: string) {
    this.writer = writer;
    this.description = `docker-archive:${label}`;
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    return this.written.has(parseDigest(descriptor.digest));
  }

  /** Configs arrive here. */
  async putBlob(descriptor: Descriptor, open: BlobOpener): Promise<void> {
    const digest = parseDigest(descriptor.digest);
    await this.writer.addStream(`${digestHex(digest)}.json`, descriptor.size, await open());
    this.written.add(digest);
  }

  async putUncompressedLayer(layer: UncompressedLayer, stream: Readable): Promise<void> {
    const name = `${digestHex(layer.diffID)}.tar`;
    if (layer.size !== undefined) await this.writer.addStream(name, layer.size, stream);
    else await this.writer.addStreamOfUnknownSize(name, stream);
    this.written.add(layer.diffID);
  }

  async putImage(image: DestinationImage): Promise<void> {
    const configDigest = parseDigest(image.config.descriptor.digest);
    const layers = image.diffIDs.map((diffID) => `${digestHex(diffID)}.tar`);
    const config = `${digestHex(configDigest)}.json`;
    const same = this.entries.find((entry) => entry.Config === config && entry.Layers.join() === layers.join());
    if (same) same.RepoTags.push(...image.names.filter((name) => !same.RepoTags.includes(name)));
    else this.entries.push({ Config: config, RepoTags: [...image.names], Layers: layers });
    const top = image.diffIDs.at(-1);
    for (const name of image.names) {
      const ref = parseReference(name);
      if (ref.tag === undefined || top === undefined) continue;
      const repository = familiarRepositoryName(ref);
      this.repositories[repository] = { ...this.repositories[repository], [ref.tag]: digestHex(top) };
    }
  }

  async commit(): Promise<void> {
    await this.writer.addBuffer('manifest.json', Buffer.from(JSON.stringify(this.entries)));
    await this.writer.addBuffer('repositories', Buffer.from(JSON.stringify(this.repositories)));
    await this.writer.finish();
  }

  async abort(): Promise<void> {
    await this.writer.abort();
  }
}
