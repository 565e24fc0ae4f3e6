/**
 * True when `data` is more than `max` bytes (UTF-8 for a string). A string
 * of n characters is n to 3n bytes, so it is measured only when it could be
 * either: most frames are decided by their length alone.
 */
export function exceedsBytes(data: string | Buffer, max: number): boolean {
  if (typeof data !== 'string') return data.length > max;
  if (data.length > max) return true;
  return data.length * 3 > max && Buffer.byteLength(data) > max;
}
