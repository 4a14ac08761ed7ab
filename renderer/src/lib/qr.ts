/**
 * A QR code as one SVG path, for the join code (issue 13: "a QR code in the dashboard"). Join codes
 * are upper-case Crockford base32 in dash-separated groups, all in QR's alphanumeric set, so they
 * are encoded in that mode (smaller than bytes); other text is encoded as bytes. Error correction M.
 */
import qrcode from 'qrcode-generator';

export interface QrPath {
  /** Modules per side (21 + 4 × (version − 1)), without the quiet zone. */
  readonly size: number;
  /** The dark modules as unit squares, in module coordinates: an SVG path's `d`. */
  readonly d: string;
}

const ALPHANUMERIC = /^[0-9A-Z $%*+\-./:]*$/;

export function qrPath(text: string): QrPath {
  const code = qrcode(0, 'M');
  code.addData(text, ALPHANUMERIC.test(text) ? 'Alphanumeric' : 'Byte');
  code.make();
  const size = code.getModuleCount();
  const parts: string[] = [];
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      // Runs of dark modules in a row as one rectangle: a much shorter path.
      if (!code.isDark(row, col)) continue;
      let run = 1;
      while (col + run < size && code.isDark(row, col + run)) run++;
      parts.push(`M${col} ${row}h${run}v1h-${run}z`);
      col += run - 1;
    }
  }
  return { size, d: parts.join('') };
}
