// The faces the runtime found in a picture (runtime/faces.py, facecheck.py): boxes drawn over its image
// and one line per face, reachable from the keyboard; focusing or hovering a line lights its box.
// Boxes are in the decoded image's pixels; the browser shows images upright by their EXIF orientation,
// as the runtime decodes them, so an SVG with the image's own size as its viewBox lines them up.
const SVG = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// An SVG over `img`, fitted the way the image is (object-fit cover: "slice", contain: "meet").
function overlay(img, faces, fit) {
  const svg = svgEl("svg", { class: "face-boxes", "aria-hidden": "true", preserveAspectRatio: `xMidYMid ${fit}` });
  const draw = () => {
    if (!img.naturalWidth) return; // not an image the browser can show (or not yet): no boxes either
    // a thumbnail (thumbs.js) is smaller than the picture and carries the picture's own size
    const { width = img.naturalWidth, height = img.naturalHeight } = img.dataset;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.replaceChildren(...faces.map((face, i) => {
      const [x0, y0, x1, y1] = face.box;
      const rect = svgEl("rect", { x: x0, y: y0, width: x1 - x0, height: y1 - y0,
                                   class: `face-box face-${face.verdict || "whole"}` });
      rect.dataset.face = String(i + 1);
      return rect;
    }));
  };
  draw();
  img.addEventListener("load", draw); // a thumbnail arrives after its row is drawn
  return svg;
}

// The image with its face boxes: `img` is moved into a positioned box that also holds the overlay.
export function boxedImage(img, faces, fit = "slice") {
  const frame = document.createElement("span");
  frame.className = `face-frame face-frame-${fit}`;
  img.replaceWith(frame);
  frame.append(img, overlay(img, faces, fit));
  return frame;
}

function faceText(face, i, verdictText) {
  if (!face.verdict) return `Face ${i + 1}: fills the picture, so the picture's verdict is its verdict`;
  const pct = face.p_fake === null || face.p_fake === undefined ? "" : ` (${(100 * face.p_fake).toFixed(1)}% generated)`;
  return `Face ${i + 1}: ${verdictText[face.verdict]}${pct}${face.reason ? `: ${face.reason}` : ""}`;
}

// One focusable line per face; `frames` are the boxed images whose box lights up with the line.
export function faceList(faces, verdictText, frames) {
  const list = document.createElement("ol");
  list.className = "faces";
  list.setAttribute("aria-label", `${faces.length} face${faces.length === 1 ? "" : "s"} found`);
  faces.forEach((face, i) => {
    const li = document.createElement("li");
    li.className = "face";
    li.tabIndex = 0;
    li.textContent = faceText(face, i, verdictText);
    Object.assign(li.dataset, { testid: "face", index: String(i + 1), box: JSON.stringify(face.box),
                                score: String(face.score), verdict: face.verdict || "" });
    if (face.p_fake !== undefined && face.p_fake !== null) li.dataset.pFake = String(face.p_fake);
    const light = (on) => frames().forEach((frame) =>
      frame.querySelectorAll(`[data-face="${i + 1}"]`).forEach((r) => r.classList.toggle("lit", on)));
    for (const [type, on] of [["focus", true], ["blur", false], ["mouseenter", true], ["mouseleave", false]]) {
      li.addEventListener(type, () => light(on));
    }
    list.append(li);
  });
  return list;
}

// The results row: boxes on its thumbnail, the count on the row, and the face lines under the flags.
export function showFaces(row, thumb, faces, verdictText) {
  row.dataset.faces = String(faces.length);
  if (!faces.length) return;
  const frame = boxedImage(thumb, faces);
  row.querySelector(".flags").after(faceList(faces, verdictText, () => [frame]));
}

// The explanation: the picture at a readable size with its boxes, and the same face lines.
export function facesFigure(entry, verdictText) {
  const faces = entry.result.faces || [];
  const figure = document.createElement("figure");
  figure.className = "faces-figure";
  const img = document.createElement("img");
  img.alt = `${entry.name} with the ${faces.length} face${faces.length === 1 ? "" : "s"} found`;
  img.src = entry.url;
  figure.append(img);
  const frame = boxedImage(img, faces, "meet");
  const cap = document.createElement("figcaption");
  cap.textContent = faces.length ? "Faces found" : "No face found";
  figure.append(cap);
  if (faces.length) figure.append(faceList(faces, verdictText, () => [frame]));
  return figure;
}
