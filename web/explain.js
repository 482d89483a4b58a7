// The explanation of one verdict, drawn with the page's own SVG and canvas: what each of the two detectors says,
// the file's radial spectrum against the mean real and generated spectra of the training data, the bands that
// pushed the verdict (coefficient × standardised feature), the 2-D log spectrum as a picture, and the faces
// found with their boxes.
import { facesFigure } from "./faces.js";
import { VERDICT_TEXT } from "./table.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 600, H = 260, PAD = { l: 48, r: 12, t: 12, b: 36 };

function svgEl(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function scales(xs, ys, height = H) {
  const [x0, x1] = [0, 0.5];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const pad = (y1 - y0) * 0.05 || 1;
  return {
    x: (v) => PAD.l + ((v - x0) / (x1 - x0)) * (W - PAD.l - PAD.r),
    y: (v) => PAD.t + (1 - (v - (y0 - pad)) / (y1 - y0 + 2 * pad)) * (height - PAD.t - PAD.b),
    y0: y0 - pad, y1: y1 + pad,
  };
}

const path = (xs, ys, s) => xs.map((x, i) => `${i ? "L" : "M"}${s.x(x).toFixed(1)},${s.y(ys[i]).toFixed(1)}`).join("");

function axes(svg, s, height, yLabel) {
  svg.append(svgEl("line", { x1: PAD.l, x2: W - PAD.r, y1: height - PAD.b, y2: height - PAD.b, class: "axis" }));
  svg.append(svgEl("line", { x1: PAD.l, x2: PAD.l, y1: PAD.t, y2: height - PAD.b, class: "axis" }));
  for (const f of [0, 0.1, 0.2, 0.3, 0.4, 0.5]) {
    svg.append(svgEl("text", { x: s.x(f), y: height - PAD.b + 14, class: "tick", "text-anchor": "middle" }, f.toFixed(1)));
  }
  svg.append(svgEl("text", { x: (PAD.l + W - PAD.r) / 2, y: height - 4, class: "tick", "text-anchor": "middle" },
    "frequency (cycles per pixel): coarse → fine detail"));
  svg.append(svgEl("text", { x: 12, y: PAD.t + (height - PAD.t - PAD.b) / 2, class: "tick", "text-anchor": "middle",
    transform: `rotate(-90 12 ${PAD.t + (height - PAD.t - PAD.b) / 2})` }, yLabel));
}

// The vector is blocks of ring profiles (then grid peaks); the chart shows the first profile
// (all angles, or on-axis when split).
function firstProfile(values, info) {
  const { start, length } = info.blocks[0];
  return values.slice(start, start + length);
}

function spectrumChart(info, features) {
  const f = firstProfile(info.frequencies, info);
  const ref = Object.fromEntries(Object.entries(info.reference).map(([k, v]) => [k, firstProfile(v, info)]));
  const mine = firstProfile(features, info);
  const band = ref.mean_real.map((m, i) => [m - ref.std_real[i], m + ref.std_real[i]]);
  const s = scales(f, [...mine, ...ref.mean_fake, ...band.flat()]);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
    "aria-labelledby": "spectrum-chart-title" });
  svg.append(svgEl("title", { id: "spectrum-chart-title" },
    "Radial spectrum of this image (solid line) against the average real photo (green band: ±1 standard deviation) and the average generated face (red dashes)"));
  const area = f.map((x, i) => `${i ? "L" : "M"}${s.x(x).toFixed(1)},${s.y(band[i][1]).toFixed(1)}`).join("")
    + f.slice().reverse().map((x, j) => `L${s.x(x).toFixed(1)},${s.y(band[f.length - 1 - j][0]).toFixed(1)}`).join("") + "Z";
  svg.append(svgEl("path", { d: area, class: "band-real" }));
  svg.append(svgEl("path", { d: path(f, ref.mean_real, s), class: "line-real" }));
  svg.append(svgEl("path", { d: path(f, ref.mean_fake, s), class: "line-fake" }));
  svg.append(svgEl("path", { d: path(f, mine, s), class: "line-mine" }));
  axes(svg, s, H, "log magnitude");
  return svg;
}

function contributionChart(info, contributions, top) {
  const height = 150;
  const f = info.frequencies;
  const limit = Math.max(...contributions.map(Math.abs), 1e-9);
  const s = scales(f, [-limit, limit], height);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart", role: "img",
    "aria-labelledby": "contrib-chart-title" });
  svg.append(svgEl("title", { id: "contrib-chart-title" },
    "How much each frequency band pushed the verdict: bars up push towards generated, bars down towards real"));
  const barW = Math.max(2, (s.x(0.5) - s.x(0)) / info.blocks[0].length - 1);
  contributions.forEach((c, i) => {
    const y = s.y(Math.max(c, 0));
    svg.append(svgEl("rect", { x: s.x(f[i]) - barW / 2, y, width: barW, height: Math.abs(s.y(c) - s.y(0)),
      class: `${c > 0 ? "push-fake" : "push-real"}${top.includes(i) ? " top" : ""}` }));
  });
  svg.append(svgEl("line", { x1: PAD.l, x2: W - PAD.r, y1: s.y(0), y2: s.y(0), class: "axis" }));
  axes(svg, s, height, "push");
  return svg;
}

function spectrumPicture(explanation) {
  const { side, picture } = explanation;
  const gray = Uint8Array.from(atob(picture), (c) => c.charCodeAt(0));
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = side;
  canvas.className = "spectrum-picture";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "Two-dimensional log spectrum of the image: centre is coarse detail, edges fine detail");
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(side, side);
  gray.forEach((v, i) => img.data.set([v, v, v, 255], 4 * i));
  ctx.putImageData(img, 0, 0);
  return canvas;
}

// What a feature is beyond its frequency: its angular sector, or a grid peak (from model_info's labels).
const sectorName = (info, i) => (info.labels[i] ? ` (${info.labels[i]})` : "");

const detailWord = (f) => (f < 0.15 ? "coarse" : f < 0.3 ? "medium" : "fine");

function caption(info, entry, verdictText, top, contributions) {
  const { frequencies: f } = info;
  const towards = (i) => (contributions[i] > 0 ? "generated" : "real");
  const named = top.slice(0, 3).map((i) => `${f[i].toFixed(2)} (${detailWord(f[i])} detail, towards ${towards(i)})`);
  const pct = (100 * entry.result.p_fake).toFixed(1);
  // Calibrated weights answer by their fitted rule (the reason says why not), others by their threshold.
  const because = entry.result.reason ? ` (${entry.result.reason})`
    : info.calibrated ? "" : ` (threshold ${(100 * info.threshold).toFixed(0)}%)`;
  const who = entry.result.detectors === "both" ? "the two detectors together give" : "the model gives";
  return `${verdictText}: ${who} ${pct}% that this face is generated${because}. `
    + `The frequency bands that weighed most are at ${named.join(", ")} cycles per pixel. `
    + "Where the solid line leaves the green band, this image's detail at that scale is unlike the real photos the model saw. "
    + "In the square picture, the centre is coarse detail and the edges fine detail; bright dots or lines away from the centre "
    + "are regular patterns such as an up-sampling grid or JPEG blocks.";
}

const generated = (p) => (p === null ? "no usable number for this image" : `${(100 * p).toFixed(1)}% generated`);

// Each detector's own calibrated probability in the regime the row was read in (runtime/classify.py's
// "opinions"), or in words why the second one has none: it was not loaded yet when the image was checked, or
// the model in use has none. A row the spectral model judged alone under a model without a fitted rule
// carries no opinions: its p_fake is the spectral model's.
function opinionsList(info, result) {
  const { detectors, opinions, p_fake: p } = result;
  const spectral = opinions?.spectral ?? (detectors === "spectral" ? p : null);
  const cnn = detectors === "both" ? generated(opinions?.cnn ?? null)
    : info.zones_both === null ? "not part of the model in use"
      : "not loaded yet when this image was checked (add the image again once it is ready)";
  const list = document.createElement("ul");
  list.className = "opinions";
  list.dataset.testid = "opinions";
  for (const [detector, text, value] of [["spectral", `Spectral traces: ${generated(spectral)}`, spectral],
                                         ["cnn", `Face appearance (CNN): ${cnn}`, opinions?.cnn ?? null]]) {
    const li = document.createElement("li");
    li.textContent = text;
    li.dataset.detector = detector;
    if (value !== null) li.dataset.pFake = String(value);
    list.append(li);
  }
  return list;
}

export function renderExplanation(container, { info, entry, explanation, verdictText }) {
  const { contributions } = explanation;
  const top = contributions.map((c, i) => i).sort((a, b) => Math.abs(contributions[b]) - Math.abs(contributions[a])).slice(0, 5);
  const heading = document.createElement("h3");
  heading.textContent = entry.name;
  const cap = document.createElement("p");
  cap.className = "caption";
  cap.textContent = caption(info, entry, verdictText, top, contributions);
  const list = document.createElement("ol");
  list.className = "top-bands";
  for (const i of top) {
    const li = document.createElement("li");
    li.textContent = `${info.frequencies[i].toFixed(3)} cycles/pixel${sectorName(info, i)}: ${contributions[i] > 0 ? "+" : ""}`
      + `${contributions[i].toFixed(2)} towards ${contributions[i] > 0 ? "generated" : "real"}`;
    list.append(li);
  }
  const figure = document.createElement("div");
  figure.className = "explain-figures";
  const pictureBox = document.createElement("figure");
  const pictureCap = document.createElement("figcaption");
  pictureCap.textContent = "2-D log spectrum";
  pictureBox.append(spectrumPicture(explanation), pictureCap);
  figure.append(spectrumChart(info, entry.result.features), pictureBox);
  const contribHeading = document.createElement("h4");
  contribHeading.textContent = "Bands that pushed the verdict (coefficient × standardised feature)";
  const opinionsHeading = document.createElement("h4");
  opinionsHeading.textContent = "What each detector says";
  container.replaceChildren(heading, cap, opinionsHeading, opinionsList(info, entry.result),
                            facesFigure(entry, VERDICT_TEXT), figure, contribHeading,
                            contributionChart(info, contributions, top), list);
}
