import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/index.js';
import { products } from '../db/schema/index.js';

/** The largest photo accepted for upload, before resizing. */
export const PHOTO_MAX_BYTES = 10 * 1024 * 1024;
/** Stored photos fit in a square of this size. */
export const PHOTO_MAX_SIDE = 800;
// Decoding a 100-megapixel "image" of a few KB (a decompression bomb) must not take the server down.
const MAX_INPUT_PIXELS = 60_000_000;
/** The only file names GET /photos/:file serves: what savePhoto writes, nothing else. */
export const PHOTO_NAME = /^[1-9]\d{0,15}-[a-f0-9]{16}\.webp$/;

/** The folder under DATA_DIR where product photos live. */
export function photoDir(dataDir: string): string {
  return join(dataDir, 'photos');
}

export type PhotoResult = { ok: true; webp: Buffer; width: number; height: number } | { ok: false; reason: 'not_image' };

/**
 * Turns an upload into the stored form: decoded by sharp (so a text file named .jpg is refused
 * whatever its name or type says), turned upright from its EXIF orientation, shrunk to fit
 * 800 × 800 and written as WebP, which also drops the camera's metadata (GPS position included).
 */
export async function processPhoto(input: Buffer): Promise<PhotoResult> {
  if (input.length === 0) return { ok: false, reason: 'not_image' };
  // sharp (libvips) costs about 30 MB of memory once loaded: load it only when a photo arrives.
  const { default: sharp } = await import('sharp');
  try {
    const { data, info } = await sharp(input, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS, animated: false })
      .rotate()
      .resize(PHOTO_MAX_SIDE, PHOTO_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer({ resolveWithObject: true });
    return { ok: true, webp: data, width: info.width, height: info.height };
  } catch {
    return { ok: false, reason: 'not_image' };
  }
}

/** Removes a stored photo file; a missing file is not an error. */
export function deletePhotoFile(dataDir: string, name: string | null): void {
  if (!name || !PHOTO_NAME.test(name)) return;
  rmSync(join(photoDir(dataDir), name), { force: true });
}

/** The path of a stored photo if the name is one Carnet writes; undefined for anything else. */
export function photoPath(dataDir: string, name: string): string | undefined {
  return PHOTO_NAME.test(name) ? join(photoDir(dataDir), name) : undefined;
}

/**
 * Sets (webp) or removes (null) the photo of one of this producer's products. The new file gets a
 * fresh random name (so caches can keep photos forever) and the previous file is deleted once the
 * row points to the new one. Returns false, writing nothing, when the product is not theirs.
 */
export function setProductPhoto(db: Db, dataDir: string, producerId: number, productId: number, webp: Buffer | null, now = Date.now()): boolean {
  const dir = photoDir(dataDir);
  let written: string | null = null;
  if (webp) {
    mkdirSync(dir, { recursive: true });
    written = `${productId}-${randomBytes(8).toString('hex')}.webp`;
    // Written under a temporary name first, so a half-written file is never served.
    const tmp = join(dir, `.${written}.tmp`);
    writeFileSync(tmp, webp);
    renameSync(tmp, join(dir, written));
  }
  let previous: string | null | undefined;
  try {
    previous = db.transaction(
      (tx) => {
        const row = tx
          .select({ photo: products.photo })
          .from(products)
          .where(and(eq(products.id, productId), eq(products.producerId, producerId)))
          .get();
        if (!row) return undefined;
        tx.update(products).set({ photo: written, updatedAt: now }).where(eq(products.id, productId)).run();
        return row.photo;
      },
      { behavior: 'immediate' },
    );
  } catch (err) {
    deletePhotoFile(dataDir, written);
    throw err;
  }
  if (previous === undefined) {
    deletePhotoFile(dataDir, written);
    return false;
  }
  if (previous !== written) deletePhotoFile(dataDir, previous);
  return true;
}
