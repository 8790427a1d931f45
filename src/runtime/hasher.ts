/** The core's Hasher port over node:crypto (leak fingerprints, webhook signatures). */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Hasher } from '../core/ports/runtime.js';

export const nodeHasher: Hasher = {
  hmacSha256Hex: (key, data) => createHmac('sha256', key).update(data, 'utf8').digest('hex'),
  timingSafeEqual(a, b) {
    const x = Buffer.from(a, 'utf8');
    const y = Buffer.from(b, 'utf8');
    return x.length === y.length && timingSafeEqual(x, y);
  },
};
