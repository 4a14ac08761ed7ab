/**
 * Draws the app icon and writes resources/icon.png (512×512) and resources/icon.ico (16–256 px).
 *
 *   npx node resources/make-icons.ts
 *
 * The mark: four replicas (n = 3f + 1 with f = 1) on a ring, every pair linked as in PBFT's
 * all-to-all phases, one of them Byzantine (red), on a rounded indigo square. Shapes are signed
 * distance functions, so every size is drawn directly (no downscaling) with anti-aliased edges.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

type Rgb = readonly [number, number, number];

/** Design grid: shapes are laid out on a 512-unit canvas and scaled to each output size. */
const canvasUnits = 512;
const tile = { inset: 32, radius: 100, top: [79, 70, 229] as Rgb, bottom: [30, 27, 75] as Rgb };
const ringRadius = 118;
const replicas = [0, 1, 2, 3].map((i) => {
  const angle = -Math.PI / 2 + (i * Math.PI) / 2;
  return { x: 256 + ringRadius * Math.cos(angle), y: 256 + ringRadius * Math.sin(angle) };
});
const byzantineReplica = 1;
const nodeRadius = 40;
const nodeHaloRadius = 52;
const linkWidth = 14;
const honestColour: Rgb = [240, 253, 250];
const byzantineColour: Rgb = [251, 113, 133];
const linkColour: Rgb = [165, 170, 240];

type Pixel = { r: number; g: number; b: number; a: number };

/** Paints `colour` with opacity `alpha` over `under` (straight alpha). */
function over(under: Pixel, colour: Rgb, alpha: number): Pixel {
  const a = alpha + under.a * (1 - alpha);
  if (a === 0) return under;
  const mix = (top: number, bottom: number) => (top * alpha + bottom * under.a * (1 - alpha)) / a;
  return { r: mix(colour[0], under.r), g: mix(colour[1], under.g), b: mix(colour[2], under.b), a };
}

function roundedSquareDistance(x: number, y: number): number {
  const half = canvasUnits / 2 - tile.inset - tile.radius;
  const qx = Math.abs(x - 256) - half;
  const qy = Math.abs(y - 256) - half;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - tile.radius;
}

function segmentDistance(x: number, y: number, a: { x: number; y: number }, b: { x: number; y: number }): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const t = Math.max(0, Math.min(1, ((x - a.x) * dx + (y - a.y) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - (a.x + t * dx), y - (a.y + t * dy));
}

function tileColour(y: number): Rgb {
  const t = Math.max(0, Math.min(1, (y - tile.inset) / (canvasUnits - 2 * tile.inset)));
  return [0, 1, 2].map((c) => tile.top[c]! + (tile.bottom[c]! - tile.top[c]!) * t) as unknown as Rgb;
}

function drawPixel(x: number, y: number, pixelsPerUnit: number): Pixel {
  // Coverage of a shape from its signed distance (in units): a one-pixel anti-aliased edge.
  const coverage = (distance: number) => Math.max(0, Math.min(1, 0.5 - distance * pixelsPerUnit));
  let pixel: Pixel = { r: 0, g: 0, b: 0, a: 0 };
  pixel = over(pixel, tileColour(y), coverage(roundedSquareDistance(x, y)));
  for (let i = 0; i < replicas.length; i++) {
    for (let j = i + 1; j < replicas.length; j++) {
      const distance = segmentDistance(x, y, replicas[i]!, replicas[j]!) - linkWidth / 2;
      pixel = over(pixel, linkColour, coverage(distance));
    }
  }
  replicas.forEach((replica, i) => {
    const distance = Math.hypot(x - replica.x, y - replica.y);
    pixel = over(pixel, tileColour(y), coverage(distance - nodeHaloRadius));
    pixel = over(pixel, i === byzantineReplica ? byzantineColour : honestColour, coverage(distance - nodeRadius));
  });
  return pixel;
}

/** RGBA pixels of the icon at `size`×`size`. */
function render(size: number): Buffer {
  const pixelsPerUnit = size / canvasUnits;
  const rgba = Buffer.alloc(size * size * 4);
  for (let row = 0; row < size; row++) {
    for (let column = 0; column < size; column++) {
      const pixel = drawPixel((column + 0.5) / pixelsPerUnit, (row + 0.5) / pixelsPerUnit, pixelsPerUnit);
      rgba.set(
        [pixel.r, pixel.g, pixel.b, pixel.a * 255].map((v) => Math.round(v)),
        (row * size + column) * 4,
      );
    }
  }
  return rgba;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** A PNG file (8-bit RGBA, no filtering) of the icon at `size`. */
function encodePng(size: number): Buffer {
  const rgba = render(size);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // bit depth 8, colour type 6 (RGBA), deflate, no filter, no interlace
  const scanlines = Buffer.alloc(size * (1 + size * 4));
  for (let row = 0; row < size; row++) {
    // Each scanline starts with its filter type, 0 (none).
    rgba.copy(scanlines, row * (1 + size * 4) + 1, row * size * 4, (row + 1) * size * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(scanlines, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A Windows .ico holding one PNG image per size (PNG entries are valid since Windows Vista). */
function encodeIco(sizes: readonly number[]): Buffer {
  const images = sizes.map((size) => encodePng(size));
  const directory = Buffer.alloc(6 + 16 * sizes.length);
  directory.writeUInt16LE(0, 0); // reserved
  directory.writeUInt16LE(1, 2); // type: icon
  directory.writeUInt16LE(sizes.length, 4);
  let offset = directory.length;
  sizes.forEach((size, i) => {
    const entry = 6 + 16 * i;
    directory.writeUInt8(size >= 256 ? 0 : size, entry); // 0 means 256
    directory.writeUInt8(size >= 256 ? 0 : size, entry + 1);
    directory.writeUInt8(0, entry + 2); // no palette
    directory.writeUInt8(0, entry + 3); // reserved
    directory.writeUInt16LE(1, entry + 4); // colour planes
    directory.writeUInt16LE(32, entry + 6); // bits per pixel
    directory.writeUInt32LE(images[i]!.length, entry + 8);
    directory.writeUInt32LE(offset, entry + 12);
    offset += images[i]!.length;
  });
  return Buffer.concat([directory, ...images]);
}

const resourcesDir = import.meta.dirname;
writeFileSync(join(resourcesDir, 'icon.png'), encodePng(512));
writeFileSync(join(resourcesDir, 'icon.ico'), encodeIco([16, 24, 32, 48, 64, 128, 256]));
