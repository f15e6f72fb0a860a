// Using tsbuild as a library: load an archive into a store, list the images, save one as an OCI archive.
// Usage: node examples/library-usage.mjs ARCHIVE.tar STORE_DIR OUT.tar
import { ImageStore, loadArchive, saveImages } from '@tsbuild/image';

const [archive, root, out] = process.argv.slice(2);
if (!archive || !root || !out) {
  console.error('usage: node examples/library-usage.mjs ARCHIVE.tar STORE_DIR OUT.tar');
  process.exit(2);
}
const store = await ImageStore.open(root);
const loaded = await loadArchive(store, archive, {
  onProgress: (p) => p.state === 'done' && console.error(`copied ${p.digest} (${p.bytes} bytes)`),
});
for (const image of await store.listImages()) {
  console.log(`${image.names.join(', ') || '<none>'}  ${image.id}  ${image.size} bytes`);
}
await saveImages(store, [loaded[0].names[0] ?? loaded[0].id], out, { format: 'oci-archive' });
console.log(`saved ${out}`);
