// Thumbnails decoded at thumbnail size. An <img> of the original file decodes the whole picture (a
// 24-megapixel photo is about 100 MB of pixels) to show 48 px of it; createImageBitmap with a resize
// decodes it down to the thumbnail's size, and the row shows that small copy. A thumbnail is made when
// its row comes near the view, one at a time, so a batch of thousands costs only the ones anyone sees.
// The img keeps the picture's own size in data-width and data-height: faces.js draws its boxes in
// the picture's pixels.
const SIDE = 144; // px wide: the 48-px thumbnail on screens of up to 3 device pixels per CSS pixel
const MAX_BYTES = 64 * 1024 * 1024; // the detector's limit: a larger file is refused unread, so no thumbnail

const waiting = new WeakMap(); // img -> its File, until the thumbnail is made
let turn = Promise.resolve();
const observer = new IntersectionObserver((seen) => {
  for (const { target, isIntersecting } of seen) {
    if (!isIntersecting || !waiting.has(target)) continue;
    const file = waiting.get(target);
    waiting.delete(target);
    observer.unobserve(target);
    turn = turn.then(() => draw(target, file));
  }
}, { rootMargin: "300px" });

export function showThumbnail(img, file) {
  if (file.size > MAX_BYTES) {
    img.hidden = true;
    return;
  }
  waiting.set(img, file);
  observer.observe(img);
}

// The row is gone: no thumbnail is made for it, and the one made is freed.
export function dropThumbnail(img) {
  observer.unobserve(img);
  waiting.delete(img);
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
}

// The picture's own size, upright as shown: loading an image that is not drawn reads its header, and
// decodes no pixels.
async function pictureSize(file) {
  const url = URL.createObjectURL(file);
  try {
    const probe = new Image();
    await new Promise((resolve, reject) => {
      probe.onload = resolve;
      probe.onerror = reject;
      probe.src = url;
    });
    return [probe.naturalWidth, probe.naturalHeight];
  } finally {
    URL.revokeObjectURL(url);
  }
}

async function draw(img, file) {
  if (!img.isConnected) return;
  try {
    const [width, height] = await pictureSize(file);
    const bitmap = await createImageBitmap(file, { resizeWidth: Math.min(SIDE, width), resizeQuality: "medium" });
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    bitmap.close();
    const blob = await canvas.convertToBlob({ type: "image/png" });
    if (!img.isConnected) return; // cleared meanwhile
    Object.assign(img.dataset, { width: String(width), height: String(height) });
    img.src = URL.createObjectURL(blob);
  } catch {
    img.hidden = true; // not a picture the browser can show
  }
}
