// The results as CSV (RFC 4180, UTF-8): name,label,p_fake,flags,error — the CLI's columns (its "path" is "name").
// A spreadsheet runs a cell that starts with = + - @ as a formula: a file named "=HYPERLINK(…)" must
// stay text, so such cells get a leading apostrophe (OWASP's CSV-injection advice).
const defuse = (value) => (/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
const quote = (value) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

export function toCSV(results) {
  const lines = [["name", "label", "p_fake", "flags", "error"]];
  for (const r of results) {
    lines.push([r.name, r.label, r.p_fake === null ? "" : String(r.p_fake), r.flags.join(";"), r.error || ""]);
  }
  return lines.map((cells) => cells.map((c) => quote(defuse(c))).join(",")).join("\r\n") + "\r\n";
}

export function download(text, fileName) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000); // after the browser has started the download
}
