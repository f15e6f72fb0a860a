import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE } from './entry.js';
import { checksumMatches, computeChecksums, Field, unsignedChecksum, writeChecksum } from './header.js';

function block(fill: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(BLOCK_SIZE);
  fill(b);
  return b;
}

describe('header checksums', () => {
  const plain = block((b) => {
    b.write('dir/file.txt', 0, 'utf8');
    b.write('0000644\0', Field.mode[0], 'latin1');
    b.write('ustar\0', Field.magic[0], 'latin1');
    b.write('12345670', Field.checksum[0], 'latin1'); // whatever is in the field does not count
  });
  const high = block((b) => {
    b.write('dir/caf\u00e9', 0, 'utf8'); // bytes above 127: signed and unsigned sums differ
    b[Field.prefix[0]] = 0xff;
  });

  it('sums the block with the checksum field as spaces, as computeChecksums does', () => {
    for (const b of [plain, high, Buffer.alloc(BLOCK_SIZE)]) expect(unsignedChecksum(b)).toBe(computeChecksums(b).unsigned);
    const twice = Buffer.concat([Buffer.alloc(BLOCK_SIZE, 7), high]);
    expect(unsignedChecksum(twice, BLOCK_SIZE)).toBe(computeChecksums(high).unsigned);
  });

  it('accepts the unsigned and the historic signed checksum, nothing else', () => {
    const { unsigned, signed } = computeChecksums(high);
    expect(signed).not.toBe(unsigned);
    expect(checksumMatches(high, unsigned)).toBe(true);
    expect(checksumMatches(high, signed)).toBe(true);
    expect(checksumMatches(high, unsigned + 1)).toBe(false);
  });

  it('writes the checksum that is then read back as matching', () => {
    const b = Buffer.from(plain);
    writeChecksum(b, 0);
    expect(b.toString('latin1', Field.checksum[0], Field.checksum[0] + 8)).toBe(`${computeChecksums(plain).unsigned.toString(8).padStart(6, '0')}\0 `);
    expect(checksumMatches(b, parseInt(b.toString('latin1', Field.checksum[0], Field.checksum[0] + 6), 8))).toBe(true);
  });
});
